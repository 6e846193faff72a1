"""`consortia chaincode package | calculatepackageid | install | queryinstalled |
getinstalledpackage | approve | checkcommitreadiness | commit | queryapproved |
querycommitted`: Fabric 2.x's chaincode lifecycle.

    consortia chaincode package chaincode/contracts/asset --label asset_1 --out asset.tar.gz
    consortia chaincode install asset.tar.gz --org Org1
    consortia chaincode approve --channel mychannel --name asset --version 1.0 --sequence 1 \\
        --package-id asset_1:1f0e... --org Org1
    consortia chaincode commit --channel mychannel --name asset --version 1.0 --sequence 1 --org Org1

Every command acts as the organization's Admin unless --user says otherwise, and
connects as `consortia invoke` does (see client_cmd). `commit` asks the orgs that
approved the definition to endorse it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

from fabric_protos.peer.lifecycle import lifecycle_pb2

from consortia.cli.client_cmd import _connection_args, _gateway, resolve_target
from consortia.cryptogen import ADMIN
from consortia.errors import ConsortiaError
from consortia.lifecycle import operations as ops
from consortia.lifecycle.collections import describe as describe_collections
from consortia.lifecycle.collections import parse_collections_json
from consortia.lifecycle.definition import Definition, describe_policy
from consortia.lifecycle.package import (
    CONNECTION,
    Connection,
    PackageError,
    calculate_package_id,
    is_package_id,
    package_ccaas,
    package_python,
    read_package,
)


def register(verbs: Any) -> None:
    package = verbs.add_parser("package", help="make a chaincode package (Fabric's format)")
    package.add_argument("folder", help="a contract package folder (python), or a folder with connection.json (ccaas)")
    package.add_argument("--label", required=True, help="the package label, e.g. asset_1")
    package.add_argument("--out", required=True, help="the package file to write, e.g. asset.tar.gz")
    package.set_defaults(handler=run_package)

    calculate = verbs.add_parser("calculatepackageid", help="print the id a package file gets when installed "
                                                            "(no peer needed)")
    calculate.add_argument("package", help="the package file")
    _json_args(calculate)
    calculate.set_defaults(handler=run_calculatepackageid)

    install = verbs.add_parser("install", help="install a package on a peer (as the org's admin)")
    install.add_argument("package", help="the package file")
    _admin_args(install)
    install.set_defaults(handler=run_install)

    installed = verbs.add_parser("queryinstalled", help="list the packages installed on a peer")
    _admin_args(installed)
    installed.set_defaults(handler=run_queryinstalled)

    fetch = verbs.add_parser("getinstalledpackage", help="download a package installed on a peer")
    fetch.add_argument("--package-id", required=True, help="the installed package (see queryinstalled)")
    fetch.add_argument("--output-directory", default=".", metavar="DIR",
                       help="where to write PACKAGE_ID.tar.gz (default: the current folder)")
    _admin_args(fetch)
    fetch.set_defaults(handler=run_getinstalledpackage)

    for verb, help_text, handler in (
        ("approve", "approve a chaincode definition for your organization", run_approve),
        ("checkcommitreadiness", "show which organizations approved a definition", run_checkcommitreadiness),
        ("commit", "commit a chaincode definition the organizations agreed to", run_commit),
    ):
        # approveformyorg: Fabric's name for approve
        parser = verbs.add_parser(verb, help=help_text, aliases=["approveformyorg"] if verb == "approve" else [])
        _definition_args(parser)
        if verb == "approve":
            parser.add_argument("--package-id", help="the installed package your organization runs "
                                                     "(see queryinstalled); omit to approve without running it")
        if verb == "commit":
            parser.add_argument("--endorsing-org", action="append", default=[], metavar="MSPID",
                                dest="endorsing_orgs",
                                help="ask this organization's peers to endorse (repeatable; default: the "
                                     "organizations that approved, as the gateway's peer sees them)")
        _admin_args(parser)
        parser.set_defaults(handler=handler)

    approved = verbs.add_parser("queryapproved", help="show your organization's approval of a chaincode "
                                                      "definition (only its own peers have it)")
    approved.add_argument("-C", "--channel", "--channelID", required=True, help="channel name")
    approved.add_argument("-n", "--name", required=True, help="chaincode name")
    approved.add_argument("--sequence", type=int, default=0,
                          help="definition sequence (default: the next one if approved, else the committed one)")
    _admin_args(approved)
    approved.set_defaults(handler=run_queryapproved)

    committed = verbs.add_parser("querycommitted", help="show a channel's committed chaincode definitions")
    committed.add_argument("-C", "--channel", "--channelID", required=True, help="channel name")
    committed.add_argument("-n", "--name", help="one chaincode (default: all)")
    _admin_args(committed)
    committed.set_defaults(handler=run_querycommitted)


def _admin_args(parser: argparse.ArgumentParser) -> None:
    _connection_args(parser)
    parser.set_defaults(user=ADMIN)
    _json_args(parser)


def _json_args(parser: argparse.ArgumentParser) -> None:
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print the result as JSON")
    output.add_argument("-O", "--output", choices=["json"], help="json: the same as --json (Fabric's option)")


def _definition_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-C", "--channel", "--channelID", required=True, help="channel name")
    parser.add_argument("-n", "--name", required=True, help="chaincode name")
    parser.add_argument("-v", "--version", required=True, help="chaincode version, e.g. 1.0")
    parser.add_argument("--sequence", required=True, type=int, help="definition sequence: 1, then +1 per upgrade")
    policy = parser.add_mutually_exclusive_group()
    policy.add_argument("--policy", "--signature-policy", metavar="POLICY",
                        help="endorsement policy, e.g. \"AND('Org1MSP.peer','Org2MSP.peer')\", or a channel "
                             "policy path (default: the channel's /Channel/Application/Endorsement)")
    policy.add_argument("--channel-config-policy", metavar="PATH",
                        help="a channel policy as the endorsement policy, e.g. /Channel/Application/Admins")
    parser.add_argument("--init-required", action="store_true", help="the first transaction must be the init")
    parser.add_argument("--collections-config", metavar="FILE",
                        help="private data collections, as the JSON file Fabric's peer CLI reads")


def _definition(args: argparse.Namespace) -> Definition:
    collections = None
    if args.collections_config:
        path = Path(args.collections_config)
        try:
            text = path.read_text()
        except OSError as exc:
            raise ConsortiaError(f"cannot read the collections config {path}: {exc.strerror}") from exc
        collections = parse_collections_json(text, str(path))
    policy = args.policy
    if args.channel_config_policy is not None:
        policy = args.channel_config_policy.strip()
        if not policy.startswith("/"):
            raise ConsortiaError(f"--channel-config-policy {args.channel_config_policy!r} is not a channel policy "
                                 "path: give it from the root, e.g. /Channel/Application/Endorsement")
    return ops.definition(args.name, args.version, args.sequence, policy, args.init_required, collections)


def _print(args: argparse.Namespace, document: dict[str, Any], text: str) -> None:
    as_json = args.json or args.output == "json"
    print(json.dumps(document, indent=2) if as_json else text, flush=True)


def run_package(args: argparse.Namespace) -> int:
    folder = Path(args.folder)
    connection = folder / CONNECTION
    try:
        if connection.is_file():
            raw = package_ccaas(read_connection(connection), args.label)
        else:
            raw = package_python(folder, args.label)
    except PackageError as exc:
        raise ConsortiaError(f"cannot package {folder}: {exc}") from exc
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(raw)
    package = read_package(raw)
    print(f"wrote {out} ({package.type} package, {len(raw)} bytes); package id {package.package_id}")
    return 0


def read_connection(path: Path) -> Connection:
    """connection.json as a Connection (checked by package_ccaas)."""
    try:
        document = json.loads(path.read_text())
    except ValueError as exc:
        raise PackageError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("address"), str):
        raise PackageError(f"{path} needs an \"address\": \"host:port\" of the chaincode service")
    return Connection(address=document["address"], dial_timeout=str(document.get("dial_timeout", "10s")),
                          tls_required=bool(document.get("tls_required", False)),
                          client_auth_required=bool(document.get("client_auth_required", False)),
                          root_cert=str(document.get("root_cert", "")))


def _read_package_file(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ConsortiaError(f"cannot read package {path}: {exc.strerror or exc}") from exc


def run_calculatepackageid(args: argparse.Namespace) -> int:
    try:
        package_id = calculate_package_id(_read_package_file(args.package))
    except PackageError as exc:
        raise ConsortiaError(f"{args.package}: {exc}") from exc
    _print(args, {"package_id": package_id}, package_id)
    return 0


def run_install(args: argparse.Namespace) -> int:
    raw = _read_package_file(args.package)
    endpoint = resolve_target(args)
    result = asyncio.run(ops.install(endpoint, raw))
    _print(args, {"package_id": result.package_id, "label": result.label},
           f"installed on {endpoint.address}: package id {result.package_id}")
    return 0


def run_queryinstalled(args: argparse.Namespace) -> int:
    result = asyncio.run(ops.query_installed(resolve_target(args)))
    rows = []
    for chaincode in result.installed_chaincodes:
        refs = {channel: {"chaincodes": [{"name": c.name, "version": c.version} for c in r.chaincodes]}
                for channel, r in chaincode.references.items()}
        rows.append({"package_id": chaincode.package_id, "label": chaincode.label, "references": refs})
    lines = ["Installed chaincodes on peer:"] + [
        f"Package ID: {r['package_id']}, Label: {r['label']}"
        + "".join(f"\n  used on {ch} by " + ", ".join(f"{c['name']} {c['version']}" for c in used["chaincodes"])
                  for ch, used in r["references"].items())
        for r in rows
    ]
    _print(args, {"installed_chaincodes": rows}, "\n".join(lines))
    return 0


def run_getinstalledpackage(args: argparse.Namespace) -> int:
    if not is_package_id(args.package_id):
        raise ConsortiaError(f"--package-id {args.package_id!r} is not a package id: LABEL:SHA256, "
                             "as queryinstalled and calculatepackageid print")
    folder = Path(args.output_directory)
    if not folder.is_dir():
        raise ConsortiaError(f"--output-directory {folder} is not a folder")
    endpoint = resolve_target(args)
    raw = asyncio.run(ops.get_installed_package(endpoint, args.package_id))
    out = folder / f"{args.package_id}.tar.gz"
    out.write_bytes(raw)
    _print(args, {"package_id": args.package_id, "file": str(out), "bytes": len(raw)},
           f"wrote {out} ({len(raw)} bytes), the package {args.package_id} installed on {endpoint.address}")
    return 0


def run_approve(args: argparse.Namespace) -> int:
    definition = _definition(args)
    target = resolve_target(args)
    with _gateway(args) as gateway:
        block = ops.approve(gateway, args.channel, definition, args.package_id, target.signer.msp_id)
    _print(args, {"approved": True, "block": block},
           f"{target.signer.msp_id} approved {args.name} {args.version} (sequence {args.sequence}) "
           f"on {args.channel}, committed in block {block}")
    return 0


def run_checkcommitreadiness(args: argparse.Namespace) -> int:
    with _gateway(args) as gateway:
        result = ops.check_commit_readiness(gateway, args.channel, _definition(args))
    approvals = dict(sorted(result.approvals.items()))
    mismatches = {org: list(m.items) for org, m in result.mismatches.items()}
    lines = [f"Chaincode definition for chaincode '{args.name}', sequence '{args.sequence}' on channel "
             f"'{args.channel}' approval status by org:"]
    lines += [f"{org}: {approved}" + (f" (differs in {', '.join(mismatches[org])})" if org in mismatches else "")
              for org, approved in approvals.items()]
    _print(args, {"approvals": approvals, "mismatches": mismatches}, "\n".join(lines))
    return 0


def run_commit(args: argparse.Namespace) -> int:
    definition = _definition(args)
    target = resolve_target(args)
    with _gateway(args) as gateway:
        approving = list(dict.fromkeys(args.endorsing_orgs))
        if not approving:
            readiness = ops.check_commit_readiness(gateway, args.channel, definition)
            approving = sorted(org for org, ok in readiness.approvals.items() if ok) or [target.signer.msp_id]
        block = ops.commit(gateway, args.channel, definition, approving)
    _print(args, {"committed": True, "block": block, "endorsed_by": approving},
           f"committed {args.name} {args.version} (sequence {args.sequence}) on {args.channel} in block {block}, "
           f"endorsed by {', '.join(approving)}")
    return 0


def _definition_document(name: str, result: lifecycle_pb2.QueryChaincodeDefinitionResult
                         | lifecycle_pb2.QueryChaincodeDefinitionsResult.ChaincodeDefinition
                         | lifecycle_pb2.QueryApprovedChaincodeDefinitionResult) -> dict[str, Any]:
    document: dict[str, Any] = {
        "name": name, "sequence": result.sequence, "version": result.version,
        "endorsement_policy": describe_policy(result.validation_parameter), "init_required": result.init_required,
        "collections": describe_collections(result.collections),
    }
    if isinstance(result, lifecycle_pb2.QueryChaincodeDefinitionResult):
        document["approvals"] = dict(sorted(result.approvals.items()))
    return document


def run_queryapproved(args: argparse.Namespace) -> int:
    target = resolve_target(args)
    with _gateway(args) as gateway:
        found = ops.query_approved(gateway, args.channel, args.name, args.sequence)
    document = _definition_document(args.name, found)
    source = found.source.WhichOneof("Type")
    document["package_id"] = found.source.local_package.package_id if source == "local_package" else None
    _print(args, document,
           f"Approved chaincode definition for chaincode '{args.name}' on channel '{args.channel}' by "
           f"{target.signer.msp_id}: sequence {found.sequence}, version {found.version}, "
           f"endorsement policy {document['endorsement_policy']}, init required {found.init_required}, "
           f"package id {document['package_id'] or '(none: this organization runs no package for it)'}")
    return 0


def run_querycommitted(args: argparse.Namespace) -> int:
    with _gateway(args) as gateway:
        if args.name:
            found = ops.query_committed(gateway, args.channel, args.name)
            if found is None:
                raise ConsortiaError(f"chaincode {args.name} has no committed definition on channel {args.channel}")
            documents = [_definition_document(args.name, found)]
        else:
            listing = ops.query_all_committed(gateway, args.channel)
            documents = [_definition_document(d.name, d) for d in listing.chaincode_definitions]
    lines = [f"Committed chaincode definitions on channel '{args.channel}':"] + [
        f"Name: {d['name']}, Version: {d['version']}, Sequence: {d['sequence']}, "
        f"Endorsement policy: {d['endorsement_policy']}, Init required: {d['init_required']}"
        + (", Collections: " + ", ".join(c["name"] for c in d["collections"]) if d["collections"] else "")
        + (", Approvals: [" + ", ".join(f"{o}: {a}" for o, a in d["approvals"].items()) + "]" if "approvals" in d else "")
        for d in documents
    ]
    _print(args, {"chaincode_definitions": documents}, "\n".join(lines))
    return 0
