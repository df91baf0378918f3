DROP TABLE billing_notices;
