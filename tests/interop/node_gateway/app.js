// An ordinary Fabric Gateway application (npm @hyperledger/fabric-gateway), pointed at a
// Consortia peer. It runs one scenario and prints what it saw as one JSON object, for
// tests/interop/test_node_gateway.py to check.
//
//   node app.js CONFIG.json
//
// CONFIG: {address, mspId, certPath, keyPath, tlsRootCertPath?, tlsClientCertPath?,
//          tlsClientKeyPath?, channel, chaincode}

'use strict';

const crypto = require('node:crypto');
const fs = require('node:fs');
const grpc = require('@grpc/grpc-js');
const { connect, signers } = require('@hyperledger/fabric-gateway');

const text = (bytes) => Buffer.from(bytes).toString('utf8');

function describeError(err) {
    return {
        name: err.constructor.name,
        code: err.code,
        message: err.message,
        transactionId: err.transactionId,
        details: (err.details || []).map((d) => ({ address: d.address, mspId: d.mspId, message: d.message })),
    };
}

async function expectFailure(call) {
    try {
        await call();
    } catch (err) {
        return describeError(err);
    }
    throw new Error('the call was expected to fail but succeeded');
}

function grpcClient(config) {
    if (!config.tlsRootCertPath) {
        return new grpc.Client(config.address, grpc.credentials.createInsecure());
    }
    const root = fs.readFileSync(config.tlsRootCertPath);
    const key = config.tlsClientKeyPath ? fs.readFileSync(config.tlsClientKeyPath) : null;
    const cert = config.tlsClientCertPath ? fs.readFileSync(config.tlsClientCertPath) : null;
    return new grpc.Client(config.address, grpc.credentials.createSsl(root, key, cert));
}

async function main() {
    const config = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
    const client = grpcClient(config);
    const gateway = connect({
        client,
        identity: { mspId: config.mspId, credentials: fs.readFileSync(config.certPath) },
        signer: signers.newPrivateKeySigner(crypto.createPrivateKey(fs.readFileSync(config.keyPath))),
        evaluateOptions: () => ({ deadline: Date.now() + 30000 }),
        endorseOptions: () => ({ deadline: Date.now() + 30000 }),
        submitOptions: () => ({ deadline: Date.now() + 30000 }),
        commitStatusOptions: () => ({ deadline: Date.now() + 60000 }),
    });
    const seen = {};
    try {
        const network = gateway.getNetwork(config.channel);
        const contract = network.getContract(config.chaincode);

        seen.before = text(await contract.evaluateTransaction('get', 'interop'));
        seen.submitResult = text(await contract.submitTransaction('incr', 'interop-counter'));
        seen.put = text(await contract.submitTransaction('put', 'interop', 'from-node'));
        seen.after = text(await contract.evaluateTransaction('get', 'interop'));

        // Submit without waiting, then ask for the commit status; then read the event back.
        const submitted = await contract.submitAsync('emit', { arguments: ['node-event', 'payload-1'] });
        const status = await submitted.getStatus();
        seen.emitStatus = { code: status.code, successful: status.successful, blockNumber: Number(status.blockNumber),
                            transactionId: status.transactionId };
        const events = await network.getChaincodeEvents(config.chaincode, { startBlock: status.blockNumber });
        try {
            for await (const event of events) {
                seen.event = { name: event.eventName, payload: text(event.payload), chaincodeName: event.chaincodeName,
                               transactionId: event.transactionId, blockNumber: Number(event.blockNumber) };
                break;
            }
        } finally {
            events.close();
        }

        // Failures, as the application sees them.
        seen.evaluateError = await expectFailure(() => contract.evaluateTransaction('fail', 'contract'));
        seen.endorseError = await expectFailure(() => contract.submitTransaction('fail', 'contract'));
        seen.commitError = await expectFailure(() => contract.submit('put', {
            arguments: ['org1-only', 'x'], endorsingOrganizations: [config.mspId],
        }));

        // Two transactions reading the same key, ordered together: the second loses (MVCC).
        const first = await contract.newProposal('incr', { arguments: ['interop-race'] }).endorse();
        const second = await contract.newProposal('incr', { arguments: ['interop-race'] }).endorse();
        const statuses = [];
        for (const tx of [await first.submit(), await second.submit()]) {
            statuses.push((await tx.getStatus()).code);
        }
        seen.raceCodes = statuses;
    } finally {
        gateway.close();
        client.close();
    }
    process.stdout.write(JSON.stringify(seen) + '\n');
}

main().catch((err) => {
    process.stderr.write(`${err.stack || err}\n${JSON.stringify(describeError(err))}\n`);
    process.exit(1);
});
