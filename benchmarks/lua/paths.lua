-- GET a random path from the file named by BENCH_PATHS (one path per line) on every request.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

function init(args)
  seed()
  paths = {}
  for line in io.lines(os.getenv("BENCH_PATHS")) do
    if #line > 0 then
      paths[#paths + 1] = line
    end
  end
end

function request()
  return wrk.format("GET", paths[math.random(#paths)])
end
