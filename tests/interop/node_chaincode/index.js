'use strict';
// A plain fabric-contract-api contract: nothing here knows it runs on Consortia.
const { Contract } = require('fabric-contract-api');

class Ledger extends Contract {
    constructor() {
        super('Ledger');
    }

    async Put(ctx, key, value) {
        await ctx.stub.putState(key, Buffer.from(value));
        ctx.stub.setEvent('Put', Buffer.from(key));
        return `stored ${key}`;
    }

    async Get(ctx, key) {
        const value = await ctx.stub.getState(key);
        if (!value || value.length === 0) {
            throw new Error(`${key} does not exist`);
        }
        return value.toString();
    }

    async Keys(ctx, start, end) {
        const keys = [];
        const iterator = await ctx.stub.getStateByRange(start, end);
        for (let result = await iterator.next(); !result.done; result = await iterator.next()) {
            keys.push(result.value.key);
        }
        await iterator.close();
        return JSON.stringify(keys);
    }

    async History(ctx, key) {
        const values = [];
        const iterator = await ctx.stub.getHistoryForKey(key);
        for (let result = await iterator.next(); !result.done; result = await iterator.next()) {
            values.push(result.value.isDelete ? null : Buffer.from(result.value.value).toString());
        }
        await iterator.close();
        return JSON.stringify(values);
    }

    async Query(ctx, selector) {
        const keys = [];
        const iterator = await ctx.stub.getQueryResult(selector);
        for (let result = await iterator.next(); !result.done; result = await iterator.next()) {
            keys.push(result.value.key);
        }
        await iterator.close();
        return JSON.stringify(keys);
    }

    async Whoami(ctx) {
        return JSON.stringify({ mspid: ctx.clientIdentity.getMSPID(), role: ctx.clientIdentity.getAttributeValue('role') });
    }
}

module.exports.contracts = [Ledger];
