"""The warehouse as the pipeline writes it: the connection, the DDL of the tables it owns, and the ACE report
layouts those tables follow."""
