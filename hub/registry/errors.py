"""Confluent Schema Registry's errors: HTTP status, error code and message, as Confluent words them."""

from __future__ import annotations


class RegistryError(Exception):
    """An error the REST API answers as ``{"error_code": code, "message": message}``."""

    def __init__(
        self, status: int, error_code: int, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message
        self.headers = headers


class ContractViolation(RegistryError):
    """A schema for a raw subject breaks the contract the lint checks (422, 42201)."""


REALM = "hub-registry"


def unauthorized(reason: str) -> RegistryError:
    """401: no credential, a malformed one, or one Kafka refused (Confluent's 40101)."""
    return RegistryError(
        401, 40101, f"Unauthorized: {reason}", {"WWW-Authenticate": f'Basic realm="{REALM}"'}
    )


def forbidden(reason: str) -> RegistryError:
    """403: authenticated, but the principal may not do this (Confluent's 40301)."""
    return RegistryError(403, 40301, reason)


def identity_provider_unavailable(reason: str) -> RegistryError:
    """503: the credential could not be checked (Kafka unreachable), so neither yes nor no."""
    return RegistryError(503, 50301, f"Cannot verify credentials: {reason}")


def contract_violated(subject: str, owner: str, problems: list[str]) -> ContractViolation:
    return ContractViolation(
        422,
        42201,
        f"Invalid schema: {subject} is a subject of a raw topic of {owner}, and every field of "
        f"a raw event needs a doc and an x-pii classification (the contract `hub schemas lint` "
        f"checks): {'; '.join(problems)}",
    )


def subject_not_found(subject: str) -> RegistryError:
    return RegistryError(404, 40401, f"Subject '{subject}' not found.")


def version_not_found(version: int | str) -> RegistryError:
    return RegistryError(404, 40402, f"Version {version} not found.")


def schema_not_found(schema_id: int | None = None) -> RegistryError:
    if schema_id is None:
        return RegistryError(404, 40403, "Schema not found")
    return RegistryError(404, 40403, f"Schema {schema_id} not found")


def subject_soft_deleted(subject: str) -> RegistryError:
    return RegistryError(
        404, 40404, f"Subject '{subject}' was soft deleted.Set permanent=true to delete permanently"
    )


def subject_not_soft_deleted(subject: str) -> RegistryError:
    return RegistryError(
        404, 40405, f"Subject '{subject}' was not deleted first before being permanently deleted"
    )


def version_soft_deleted(subject: str, version: int) -> RegistryError:
    return RegistryError(
        404,
        40406,
        f"Subject '{subject}' Version {version} was soft deleted.Set permanent=true to delete "
        "permanently",
    )


def version_not_soft_deleted(subject: str, version: int) -> RegistryError:
    return RegistryError(
        404,
        40407,
        f"Subject '{subject}' Version {version} was not deleted first before being permanently "
        "deleted",
    )


def compatibility_not_configured(subject: str) -> RegistryError:
    return RegistryError(
        404, 40408, f"Subject '{subject}' does not have subject-level compatibility configured"
    )


def incompatible(subject: str, details: list[str]) -> RegistryError:
    return RegistryError(
        409,
        409,
        f'Schema being registered is incompatible with an earlier schema for subject "{subject}", '
        f"details: [{', '.join(details)}]",
    )


def invalid_schema(reason: str) -> RegistryError:
    return RegistryError(422, 42201, f"Invalid schema: {reason}")


def invalid_version(version: str) -> RegistryError:
    return RegistryError(
        422,
        42202,
        f"The specified version '{version}' is not a valid version id. Allowed values are between "
        '[1, 2^31-1] and the string "latest"',
    )


def invalid_compatibility_level(level: object) -> RegistryError:
    return RegistryError(
        422,
        42203,
        f"Invalid compatibility level {level!r}. Valid values are none, backward, forward, full, "
        "backward_transitive, forward_transitive, and full_transitive",
    )


def invalid_mode(mode: object) -> RegistryError:
    return RegistryError(
        422,
        42204,
        f"Invalid mode {mode!r}. Valid values are READWRITE, READONLY, READONLY_OVERRIDE, IMPORT",
    )


def operation_not_permitted(subject: str | None) -> RegistryError:
    target = f"Subject {subject}" if subject else "The registry"
    return RegistryError(422, 42205, f"{target} is in read-only mode")


def store_error(reason: str) -> RegistryError:
    return RegistryError(500, 50001, f"Error in the backend data store: {reason}")


def store_timeout(reason: str) -> RegistryError:
    return RegistryError(500, 50002, f"Operation timed out: {reason}")


def invalid_subject(subject: str) -> RegistryError:
    return RegistryError(422, 42208, f"The specified subject '{subject}' is not a valid.")


def reference_exists(subject: str, version: int) -> RegistryError:
    return RegistryError(
        422,
        42206,
        "One or more references exist to the schema "
        f"{{magic=1,keytype=SCHEMA,subject={subject},version={version}}}.",
    )


def mode_not_configured(subject: str) -> RegistryError:
    return RegistryError(
        404, 40409, f"Subject '{subject}' does not have subject-level mode configured"
    )


def http_error(status: int, reason: str) -> RegistryError:
    """A plain HTTP error as Confluent's REST layer (Jersey) words it: 404, 405, 406, 415."""
    return RegistryError(status, status, f"HTTP {status} {reason}")
