"""The REST door: routers, strict body reading, the bearer-token dependency and the one error translation."""
