-- Pipelining for wrk: each write on a connection carries `depth` GET requests back to back, and
-- wrk waits for all their responses before it writes the next batch.
--
--   wrk -t1 -c50 -d5s -s lessons/lesson-04-keep-alive/wrk/pipeline.lua http://127.0.0.1:8094/profile/123 -- 16
--
-- The depth is the argument after `--` (16 if none). wrk.format() builds one request for the
-- URL's path, with wrk's Host header; the batch is those bytes, concatenated once, in init().

init = function(args)
  local depth = tonumber(args[1]) or 16
  local requests = {}
  for i = 1, depth do
    requests[i] = wrk.format(nil, wrk.path)
  end
  batch = table.concat(requests)
end

request = function()
  return batch
end
