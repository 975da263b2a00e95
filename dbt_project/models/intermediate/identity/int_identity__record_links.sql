-- The links of the extracts' records (int_identity__links): app users, Customer.io exports and reporting
-- webhooks. Rebuilt every run, like the observations it reads (each extract replaces the previous one).
{{ linking_observations(ref('int_identity__record_observations')) }}
