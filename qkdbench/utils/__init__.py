"""Helpers below every algorithm: statuses, JSON-safe numbers, files, the planner registry.

Each module holds one idea and is called from everywhere that idea is needed.
"""
