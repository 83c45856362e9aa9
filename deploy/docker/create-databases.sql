-- temporal-dev.yml: one application database per environment (plandb_dev is created by POSTGRES_DB).
CREATE DATABASE plandb_staging;
CREATE DATABASE plandb_production;
