"""Analytics' writes: metrics, rollups and retention purges."""
