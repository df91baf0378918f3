DROP TABLE files;
DROP TABLE tenant_data_keys;
