"""A counter per key: the read-modify-write transaction of the endorsement benchmark."""

from chaincode.contract import Context, Contract, transaction


class Counter(Contract):
    @transaction
    def increment(self, ctx: Context, key: str) -> int:
        current = ctx.stub.get_state(key)
        value = int(current) + 1 if current else 1
        ctx.stub.put_state(key, str(value).encode())
        return value


contracts = [Counter()]
