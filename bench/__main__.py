"""`python -m bench`: run every benchmark in turn."""
from bench import ingress

if __name__ == "__main__":
    ingress.main()
