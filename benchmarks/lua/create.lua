-- POST /api/v1/contacts with a new email address on every request (like the floor's post.lua).
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local prefix = os.getenv("BENCH_PREFIX") or "run"
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

function init(args)
  seed()
  counter = 0
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"first_name":"Ada","last_name":"Bench","emails":["ada.%s.%d.%d@bench.example"]}',
    prefix, tid, counter)
  return wrk.format("POST", "/api/v1/contacts", nil, body)
end
