"""Private data between peers: dissemination at endorsement, pulls at commit, reconciliation."""
