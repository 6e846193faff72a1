"""A counter per key: the read-modify-write transaction of the endorsement and
end-to-end benchmarks, and its query."""

from chaincode.contract import Context, Contract, transaction


class Counter(Contract):
    @transaction
    def increment(self, ctx: Context, key: str) -> int:
        current = ctx.stub.get_state(key)
        value = int(current) + 1 if current else 1
        ctx.stub.put_state(key, str(value).encode())
        return value

    @transaction(submit=False)
    def read(self, ctx: Context, key: str) -> int:
        current = ctx.stub.get_state(key)
        return int(current) if current else 0


contracts = [Counter()]
