"""HTTP blueprints: inquiry, intake, polls, board, admin (HQ reads)."""
