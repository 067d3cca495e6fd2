"""`python -m app.cli`: the `storeflow` command without its installed script."""
from app.cli import main

main()
