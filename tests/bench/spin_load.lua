-- wrk script: each wrk thread is one player on one connection with its own session, spinning back to
-- back; when a spin opens a free-spins block, the thread plays the block's bonus spins, as a client would.
-- Arguments (after --): tokens file (one per line, one per thread), run id.
dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "wrk_common.lua")
local tokens, run = {}, ""
-- Each run starts by reading the state: an earlier run may have left this player's block open.
local counter, block_id, token, need_state = 0, nil, "", true  -- thread_id: set by setup() in wrk_common.lua

function init(args)
  for line in io.lines(args[1]) do table.insert(tokens, line) end
  run = args[2]
  token = "Bearer " .. tokens[thread_id]
end

function request()
  if need_state then
    return wrk.format("GET", "/api/v1/game/state", {["Authorization"] = token})
  end
  counter = counter + 1
  -- wrk.format uses these headers instead of wrk.headers, not with them
  local headers = {["Authorization"] = token, ["Content-Type"] = "application/json",
                   ["X-Request-Id"] = string.format("%s-%d-%d", run, thread_id, counter)}
  if block_id then
    return wrk.format("POST", "/api/v1/game/bonus/spin", headers, string.format('{"blockId":"%s"}', block_id))
  end
  return wrk.format("POST", "/api/v1/game/spin", headers, '{"betAmount":"1.00","currency":"CAD"}')
end

function response(status, headers, body)
  if need_state then
    need_state = false
    block_id = string.match(body, '"bonusState":{[^}]*"blockId":"([^"]+)"')
    return
  end
  local state = string.match(body, '"state":"([a-z_]+)"')
  if state == "bonus" then
    block_id = string.match(body, '"roundId":"([^"]+)"')
    local opened = string.match(body, '"bonusData":{[^}]*"blockId":"([^"]+)"')
    if opened then block_id = opened end
  else
    block_id = nil
  end
end
