"""One path for every event: the inbox stores what arrives (webhooks, storefront events, history
pages, our own emails' links), the pipeline turns each row into records through its source's
connector, stores them in the local model and publishes the domain events. Nothing else
publishes."""
