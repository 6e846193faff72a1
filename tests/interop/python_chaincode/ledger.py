"""A contract written with Hyperledger's fabric-chaincode-python, run unmodified as a
chaincode-as-a-service against a Consortia peer.

    CHAINCODE_ID=pycc CHAINCODE_SERVER_ADDRESS=127.0.0.1:9999 python ledger.py
"""

import json

from fabric_chaincode_python.fabric_contract_api import Contract, ContractChaincode, TransactionContextInterface


class Ledger(Contract):
    def get_name(self) -> str:
        return "Ledger"

    async def Put(self, ctx: TransactionContextInterface, key: str, value: str) -> str:
        stub = ctx.get_stub()
        await stub.put_state(key, value.encode())
        stub.set_event("Put", key.encode())
        return f"stored {key}"

    async def Get(self, ctx: TransactionContextInterface, key: str) -> str:
        value = await ctx.get_stub().get_state(key)
        if not value:
            raise Exception(f"{key} does not exist")
        return bytes(value).decode()

    async def Keys(self, ctx: TransactionContextInterface, start: str, end: str) -> str:
        iterator = await ctx.get_stub().get_state_by_range(start, end)
        keys = [item.key async for item in iterator]
        return json.dumps(keys)


if __name__ == "__main__":
    ContractChaincode.new_chaincode(Ledger()).start()
