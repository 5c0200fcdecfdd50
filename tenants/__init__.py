"""Tenant templates as data: plans (plans.toml), and the demo company (demo.py)."""
