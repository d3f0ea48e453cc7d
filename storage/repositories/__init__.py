"""Repositories: queries and additions per aggregate, used within a unit of work; none commits."""
