"""What the flows earned and what we hold: attribution of orders to emails, the flow report with
its holdout lift, and a customer's export."""
