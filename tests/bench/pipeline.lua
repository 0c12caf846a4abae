-- wrk script for HTTP pipelining, as TechEmpower's pipeline.lua:
--   wrk -c CONNS ... -s pipeline.lua URL -- DEPTH CONNS
-- init builds DEPTH copies of the request (wrk.format uses the URL's path and
-- any -H headers) and concatenates them; every write sends the whole batch.
-- wrk counts each response, so req/s counts every pipelined request.

-- init runs in each thread's Lua state, done in the main one: keep the
-- threads seen by setup to read depth and conns back from them in done.
local threads = {}

setup = function(thread)
   threads[#threads + 1] = thread
end

init = function(args)
   depth = tonumber(args[1]) or 16   -- globals, read by done via thread:get
   conns = tonumber(args[2])
   local r = {}
   for i = 1, depth do
      r[i] = wrk.format()
   end
   req = table.concat(r)
end

request = function()
   return req
end

-- wrk records one latency sample per batch (first write to last response).
-- Before printing, wrk 4.1 "corrects" the histogram for coordinated omission
-- with an interval of runtime / (responses / connections): with pipelining
-- that interval is DEPTH times too small, so it adds a flood of synthetic
-- samples, some below the minimum, where its percentile walk never looks;
-- the printed 99% is then 0 or inflated. Here we undo wrk's correction,
-- re-apply it with the per-batch interval (what wrk does for unpipelined
-- runs) and print the 99th percentile of batch latency:
--   pipeline_p99_us <microseconds>
done = function(summary, latency, requests)
   local depth, conns = 0, 0
   for _, t in ipairs(threads) do   -- connections are split among threads
      depth = t:get("depth") or 16
      conns = conns + (t:get("conns") or 0) / #threads
   end
   if conns == 0 or summary.requests == 0 then return end
   -- latency(i) -> value, count of the i-th distinct value (ascending)
   local values, count = {}, {}
   for i = 1, #latency do
      local v, c = latency(i)
      values[i] = v
      count[v] = c
   end
   local n = #values
   if n == 0 then return end
   local max = values[n]

   -- wrk's interval (integer arithmetic as in wrk.c) and ours
   local function interval(responses)
      local per_conn = math.floor(responses / conns)
      if per_conn == 0 then return nil end
      return math.floor(summary.duration / per_conn)
   end
   local e_wrk = interval(summary.requests)
   local e_batch = interval(summary.requests / depth)

   -- undo: wrk added count[n] to n-e, n-2e, ... (> e) for every n >= 2e;
   -- walking down, every higher value is already original
   if e_wrk then
      for i = n, 1, -1 do
         local v = values[i]
         if v > e_wrk then
            local added, m = 0, v + e_wrk
            while m <= max do
               added = added + (count[m] or 0)
               m = m + e_wrk
            end
            count[v] = count[v] - added
         end
      end
   end

   -- redo with the per-batch interval, into a fresh table
   local hist = {}
   for v, c in pairs(count) do
      if c > 0 then hist[v] = (hist[v] or 0) + c end
   end
   if e_batch then
      for v, c in pairs(count) do
         if c > 0 and v >= 2 * e_batch then
            local m = v - e_batch
            while m > e_batch do
               hist[m] = (hist[m] or 0) + c
               m = m - e_batch
            end
         end
      end
   end

   -- nearest-rank percentile, as wrk's stats_percentile
   local keys, total = {}, 0
   for v, c in pairs(hist) do
      keys[#keys + 1] = v
      total = total + c
   end
   table.sort(keys)
   local rank, seen = math.floor(0.99 * total + 0.5 + 0.5), 0
   for _, v in ipairs(keys) do
      seen = seen + hist[v]
      if seen >= rank then
         io.write(string.format("pipeline_p99_us %d\n", v))
         return
      end
   end
end
