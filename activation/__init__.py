"""Outbound activation: the Customer.io Track API client, payload mapping, batching and the durable
sync state (no Dagster here; assets/customerio_sync.py wires it)."""
