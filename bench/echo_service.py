"""A bare nameko echo service: the baseline every RPC figure is compared with."""
from nameko.rpc import rpc


class EchoService:
    name = "bench_echo"

    @rpc
    def echo(self, value):
        return value

    @rpc
    def health(self):
        return {"status": "ok"}
