-- thread_rows' conversations are in thread_rows_by_owner (0003a).
DROP TABLE IF EXISTS {db}.thread_rows;
