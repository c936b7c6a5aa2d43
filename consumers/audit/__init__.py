"""The audit reader: who received what, why and under which legal basis (from ``hub.audit``)."""
