DROP TABLE body_goals;
DROP TABLE body_measurements;
