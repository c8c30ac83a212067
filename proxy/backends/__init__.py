"""Warehouses the proxy forwards allowed statements to."""
