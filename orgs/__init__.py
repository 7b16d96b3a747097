"""Divisions, organizations, memberships and roles; scope selectors; division import; demo data."""
