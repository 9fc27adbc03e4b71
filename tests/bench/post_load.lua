-- wrk script: POSTs award-shaped bodies with a fresh idempotency key each time.
-- Arguments (after --): players file, promotion id, run id, path, bearer key.
dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "wrk_common.lua")
local players, promo, run, path, key = {}, "", "", "", ""
local counter = 0  -- thread_id: set by setup() in wrk_common.lua

function init(args)
  for line in io.lines(args[1]) do table.insert(players, line) end
  promo, run, path, key = args[2], args[3], args[4], args[5]
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. key
end

function request()
  counter = counter + 1
  local player = players[(counter % #players) + 1]
  local body = string.format(
    '{"player_id":"%s","promo_id":"%s","award_type":"FREE_SPINS","award_value":5,' ..
    '"game_code":"crystal-forge-v1","idempotency_key":"%s-%d-%d"}',
    player, promo, run, thread_id, counter)
  return wrk.format("POST", path, nil, body)
end
