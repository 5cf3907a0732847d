"""BRX Sync's pure domain: inventory, stock rules, order events, sync. Standard library only."""
