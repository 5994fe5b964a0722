"""Cases: findings (and tips) under disposal, from the unit responsible to a verdict."""
