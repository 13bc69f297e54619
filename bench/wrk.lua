-- wrk script of `make bench` (bench/run.py writes the spec file named by the first argument).
--
-- Spec lines: "method GET", "path /x/", "expect 200", "rotate 1", "header Name: value",
-- "body {...}", and one "var <refresh> <device_id>" per wrk thread. run.py starts as many
-- threads as connections, so each thread owns one connection and its own variables: a
-- rotating refresh sends the token of its last response, as a real client does.
-- "$REFRESH" and "$DEVICE" in the body are replaced by the thread's variables.

local threads = {}
local thread_count = 0

function setup(thread)
   thread_count = thread_count + 1
   thread:set("thread_index", thread_count)
   table.insert(threads, thread)
end

local method, path, body, expect, rotate = "GET", "/", nil, 200, false
local headers = {}
refresh, device = "", ""
unexpected = 0

function init(args)
   local vars = {}
   for line in io.lines(args[1]) do
      local key, value = line:match("^(%S+) (.*)$")
      if key == "method" then method = value
      elseif key == "path" then path = value
      elseif key == "expect" then expect = tonumber(value)
      elseif key == "rotate" then rotate = value == "1"
      elseif key == "body" then body = value
      elseif key == "header" then
         local name, header_value = value:match("^([^:]+):%s*(.*)$")
         headers[name] = header_value
      elseif key == "var" then table.insert(vars, value)
      end
   end
   if #vars > 0 then
      local mine = vars[(thread_index - 1) % #vars + 1]
      refresh, device = mine:match("^(%S+) (%S+)$")
   end
end

function request()
   local payload = body
   if payload then
      payload = payload:gsub("%$REFRESH", function() return refresh end)
      payload = payload:gsub("%$DEVICE", function() return device end)
   end
   return wrk.format(method, path, headers, payload)
end

function response(status, response_headers, response_body)
   if status ~= expect then
      unexpected = unexpected + 1
   elseif rotate then
      local new = response_body:match('"refresh"%s*:%s*"([^"]+)"')
      if new then refresh = new end
   end
end

function done(summary, latency, requests)
   local total_unexpected = 0
   for _, thread in ipairs(threads) do
      total_unexpected = total_unexpected + (thread:get("unexpected") or 0)
   end
   local errors = summary.errors
   io.write(string.format(
      'BENCH_RESULT {"requests": %d, "duration_us": %d, "unexpected": %d, '
      .. '"socket_errors": %d, "p50_us": %d, "p99_us": %d}\n',
      summary.requests, summary.duration, total_unexpected,
      errors.connect + errors.read + errors.write + errors.timeout,
      latency:percentile(50), latency:percentile(99)))
end
