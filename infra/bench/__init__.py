"""The benchmark harness (issue: GraphQL performance). ``jishi bench ...`` runs it."""
