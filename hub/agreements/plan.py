"""A compiled agreement as data: the plan the router's native core (`native/`, `hub_core`)
applies. The Python engine stays the specification: a plan only restates what
`compile_agreement` decided (which fields, which transform with which parameters, the output
schema, the keys), with everything that needs Python's own arithmetic to state exactly
(age-band and bucket labels, HKDF keys, filter operands in the field's type) computed here.

`export_plan` raises `PlanError` for what a plan cannot express; the core refuses, when it
binds a plan to the source schema, what it does not apply exactly as the Python engine does.
Either way that agreement runs on the Python engine.
"""

from __future__ import annotations

import datetime as dt
import json
import struct
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hub.agreements.avro_types import SourceField, index_schema
from hub.agreements.compile import CompiledAgreement
from hub.agreements.keys import derive_keys
from hub.agreements.model import TransformSpec
from hub.agreements.transforms import (
    CITY_TZ,
    _constant_type,
    _geo_fields,
    age_band_labels,
    bucket_labels,
)
from hub.agreements.where import All, AnyOf, Compare, Expr, Not, _coerce, parse_where

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_EPOCH_NAIVE = dt.datetime(1970, 1, 1)
_US = dt.timedelta(microseconds=1)


class PlanError(ValueError):
    """The agreement uses something a plan cannot state (it runs on the Python engine)."""


def export_plan(
    compiled: CompiledAgreement, source_schema: dict[str, Any], master_secret: bytes
) -> dict[str, Any]:
    """The plan of ``compiled`` (compiled against ``source_schema``), ready for ``json.dumps``."""
    agreement = compiled.agreement
    fields = index_schema(source_schema).fields
    keys = derive_keys(master_secret, agreement.id)
    return {
        "agreement": agreement.id,
        "key_id": keys.key_id,
        "pseudonym_key": keys.pseudonym_key.hex(),
        "shift_key": keys.shift_key.hex(),
        "key": _key(agreement.key),
        "where": None if agreement.where is None else _expr(parse_where(agreement.where), fields),
        "fields": _level(compiled.output_schema, "", agreement.fields, fields, {}),
        "output_schema": compiled.output_schema,
    }


def tzif(tz: ZoneInfo = CITY_TZ) -> bytes:
    """The TZif file ``zoneinfo`` reads for ``tz`` (the system's, else the tzdata package's)."""
    from zoneinfo import _common, _tzpath  # the lookup ZoneInfo itself does

    if not isinstance(tz, ZoneInfo) or tz.key is None:
        raise PlanError(f"the time zone {tz!r} is no zoneinfo key")
    path = _tzpath.find_tzfile(tz.key)
    if path is not None:
        return Path(path).read_bytes()
    with _common.load_tzdata(tz.key) as f:
        return f.read()


def dumps(plan: dict[str, Any]) -> str:
    return json.dumps(plan, ensure_ascii=False)


# --- parts ---------------------------------------------------------------------------------


def _num(x: Any) -> dict[str, str]:
    if isinstance(x, bool) or not isinstance(x, int | float):
        raise PlanError(f"{x!r} is no int or float")
    return {"int": str(x)} if isinstance(x, int) else {"float": repr(x)}


def _key(spec: TransformSpec) -> dict[str, Any]:
    if spec.kind == "redact":
        return {"kind": "redact", "constant": "***" if spec.arg is None else str(spec.arg)}
    if spec.kind == "mask":
        return {"kind": "mask", "n": spec.arg}
    return {"kind": spec.kind}


def _transform(spec: TransformSpec, field: SourceField) -> dict[str, Any]:
    kind, arg = spec.kind, spec.arg
    out: dict[str, Any] = {"kind": kind}
    if kind == "redact":
        constant = "***" if arg is None else arg
        ctype = _constant_type(constant)
        value: Any = None
        if ctype in ("string", "boolean"):
            value = constant
        elif ctype == "long":
            value = str(constant)
        elif ctype == "double":  # its bits: a NaN's sign and payload reach the output too
            value = str(struct.unpack("<Q", struct.pack("<d", constant))[0])
        out["value"] = {"type": ctype, "value": value}
    elif kind in ("mask", "postcode_prefix"):
        out["n"] = arg
    elif kind in ("truncate", "generalize"):
        out["unit"] = arg
    elif kind == "age_band":
        out["labels"], out["top"] = age_band_labels(arg)
    elif kind == "bucket":
        if isinstance(arg, tuple):
            out["bounds"] = [_num(b) for b in arg]
            out["labels"] = bucket_labels(arg)
        else:
            out["width"] = _num(arg)
    elif kind == "h3":
        names = _geo_fields(field)
        if names is None:
            raise PlanError(f"{field.path}: not a geo point")
        out["res"], (out["lat"], out["lon"]) = arg, names
    elif kind == "date_shift":
        out["max_days"] = arg
    return out


def _record_of(t: Any, named: dict[str, Any]) -> dict[str, Any]:
    """The record definition an output field's type names (nullable or by name)."""
    if isinstance(t, list):
        (t,) = [b for b in t if b != "null"]
    if isinstance(t, str):
        return named[t]
    named[t["name"]] = t
    return t


def _level(
    record: dict[str, Any],
    prefix: str,
    specs: dict[str, TransformSpec],
    fields: dict[str, SourceField],
    named: dict[str, Any],
) -> list[dict[str, Any]]:
    out = []
    for f in record["fields"]:
        path = f"{prefix}{f['name']}"
        source = fields[path]
        item: dict[str, Any] = {"name": f["name"], "path": path, "nullable": source.nullable}
        spec = specs.get(path)
        if spec is not None:
            item["transform"] = _transform(spec, source)
        else:
            sub = _record_of(f["type"], named)
            item["fields"] = _level(sub, f"{path}.", specs, fields, named)
        out.append(item)
    return out


def _operand(field: SourceField, op: str, value: Any) -> dict[str, Any]:
    v = _coerce(field, op, value)
    if isinstance(v, bool):
        return {"bool": v}
    if isinstance(v, str):
        return {"str": v}
    if isinstance(v, int | float):
        return {"num": _num(v)}
    if isinstance(v, dt.datetime):
        if v.tzinfo is None:
            return {"local_timestamp": (v - _EPOCH_NAIVE) // _US}
        return {"timestamp": (v - _EPOCH) // _US}
    if isinstance(v, dt.date):
        return {"date": (v - dt.date(1970, 1, 1)).days}
    if isinstance(v, Decimal):
        raise PlanError(f"{field.path}: a decimal operand")
    raise PlanError(f"{field.path}: an operand of type {type(v).__name__}")


def _expr(e: Expr, fields: dict[str, SourceField]) -> dict[str, Any]:
    if isinstance(e, All):
        return {"all": [_expr(i, fields) for i in e.items]}
    if isinstance(e, AnyOf):
        return {"any": [_expr(i, fields) for i in e.items]}
    if isinstance(e, Not):
        return {"not": _expr(e.item, fields)}
    assert isinstance(e, Compare)
    field = fields[e.path]
    if e.op == "exists":
        return {"path": e.path, "exists": e.operand}
    if e.op in ("in", "not_in"):
        return {
            "path": e.path,
            "op": e.op,
            "operands": [_operand(field, e.op, v) for v in e.operand],
        }
    return {"path": e.path, "op": e.op, "operand": _operand(field, e.op, e.operand)}
