-- The slate ledger's own database beside Prefect's (POSTGRES_DB=prefect): run once, on the
-- first start of an empty data volume. slate creates its tables itself (governor/ledger).
CREATE DATABASE slate_ledger;
