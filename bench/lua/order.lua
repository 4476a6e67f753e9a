-- POST /api/order/ with tok_visa, as the browser does it: JSON body, the shopper's token
-- (from wrk's -H), and a fresh Idempotency-Key per purchase.
--   wrk -s bench/lua/order.lua ... -- <run tag> <product id>
dofile("bench/lua/report.lua")

local counter = 0
local key_prefix, body

function init(args)
   key_prefix = string.format("bench-%s-%d-", args[1], thread_number)
   body = string.format('{"product": %d, "token": "tok_visa", "quantity": 1}', tonumber(args[2]))
end

function request()
   counter = counter + 1
   local headers = {}
   for name, value in pairs(wrk.headers) do
      headers[name] = value
   end
   headers["Content-Type"] = "application/json"
   headers["Idempotency-Key"] = key_prefix .. counter
   return wrk.format("POST", wrk.path, headers, body)
end
