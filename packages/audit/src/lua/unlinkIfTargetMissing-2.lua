-- unlinkIfTargetMissing: unlinks a helper key (a Spring Data `:idx` set or `:phantom` copy) whose
-- main key is missing, checking the main key in the same atomic step. Both keys must share a hash
-- slot on Cluster (standalone: always true). UNLINK frees large values in the background.
--
-- KEYS[1]  the helper key to unlink
-- KEYS[2]  the main key whose absence makes KEYS[1] an orphan
-- ARGV[1]  "1" to unlink only while KEYS[1] has no TTL (a phantom with a TTL expires by itself), "0" otherwise
--
-- Returns:
--    1  unlinked
--    0  kept: KEYS[2] exists, or ARGV[1] is "1" and KEYS[1] has a TTL now
--   -1  nothing to do: KEYS[1] is gone
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
if ARGV[1] == '1' and redis.call('PTTL', KEYS[1]) ~= -1 then return 0 end
redis.call('UNLINK', KEYS[1])
return 1
