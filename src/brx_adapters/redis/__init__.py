"""Redis adapters: the shared token-bucket rate limiter."""

from brx_adapters.redis.limiter import RedisRateLimiter, hashed

__all__ = ["RedisRateLimiter", "hashed"]
