"""The peer's Gateway: endorse, submit and follow transactions for clients (gateway.Gateway)."""
