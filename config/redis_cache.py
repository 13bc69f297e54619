"""Django's Redis cache backend, with two changes the authentication hot path needs.

1. One `redis.Redis` client per connection pool, made once. Django's backend builds a new
   client for every cache call, and redis-py 8 builds a dict of ~200 response callbacks in
   each one: about a third of a millisecond per call, more than the round trip itself.
2. A count of the connections this process has opened (`connections_made`). A new
   connection (the first one, or a reconnect after Redis restarted or the network failed)
   may face entries written before a revocation that could not be written through;
   `accounts.session_state` replays recent revocations from the database before it trusts
   the cache again (see its docstring).
3. A count of the commands sent (`commands_sent`), so tests can assert that a warm check
   makes no round trip (accounts.local_view).
"""

import redis
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient

connections_made = 0
# Commands (or pipelines) this process has sent through the cache: a round trip each.
commands_sent = 0


class CountingConnection(redis.Connection):
    """A redis-py connection that counts its (re)connections in `connections_made`."""

    def on_connect_check_health(self, *args, **kwargs):
        global connections_made
        super().on_connect_check_health(*args, **kwargs)
        connections_made += 1

    def send_packed_command(self, *args, **kwargs):
        global commands_sent
        commands_sent += 1
        return super().send_packed_command(*args, **kwargs)


class _ReusedClient(RedisCacheClient):
    def __init__(self, servers, **options):
        options.setdefault("connection_class", CountingConnection)
        super().__init__(servers, **options)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            # redis.Redis is thread-safe: it takes a connection from the pool per command.
            client = self._client(connection_pool=self._get_connection_pool(write))
            self._clients[index] = client
        return client


class RedisCache(DjangoRedisCache):
    """`BACKEND: "config.redis_cache.RedisCache"`: Django's RedisCache, same options."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = _ReusedClient
