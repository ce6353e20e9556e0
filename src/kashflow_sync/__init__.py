"""kashflow_sync: connect a KashFlow account, sync its lists, publish documents exactly once."""
