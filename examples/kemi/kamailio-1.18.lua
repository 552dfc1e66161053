-- The seed's Example 1.18 in Lua (KEMI), for examples/kemi/kamailio-1.18-lua.cfg: digest AUTH
-- answered with a Use-Path, SEND and REPORT relayed through the connection map, replies relayed,
-- SIP refused with 403.

-- A pseudo-variable as the native config prints it ("<null>" when it has no value).
local function pv(name)
	local v = KSR.pv.get(name)
	if v == nil then
		return "<null>"
	end
	return tostring(v)
end

-- SIP requests on the MSRP port (request_route).
function ksr_request_route()
	KSR.sl.sl_send_reply(403, "No SIP Here")
	KSR.x.exit()
end

-- MSRP frames (event_route[msrp:frame-in]); evname is "msrp:frame-in".
function ksr_msrp_event(evname)
	KSR.dbg("============#[[" .. pv("$msrp(method)") .. "]]===========\n")
	KSR.dbg("============*[[" .. pv("$si") .. ":" .. pv("$sp") .. "]]\n")
	for _, key in ipairs({ "crthop", "prevhop", "nexthop", "firsthop", "lasthop", "prevhops", "nexthops",
		"srcaddr", "srcsock", "sessid" }) do
		KSR.dbg("============ " .. key .. ": [" .. pv("$msrp(" .. key .. ")") .. "]\n")
	end

	KSR.msrp.reply_flags(1)

	local method = KSR.pv.get("$msrp(method)")
	if KSR.msrp.is_reply() > 0 then
		KSR.msrp.relay()
	elseif method == "AUTH" then
		if KSR.pv.get("$msrp(nexthops)") > 0 then
			KSR.msrp.relay()
			KSR.x.exit()
		end

		-- frame for local server - send Use-Path
		-- -- passwd can be loaded from DB based on $au
		local passwd = "xyz123"
		if KSR.auth.pv_www_authenticate("myrealm", passwd, 0, method) < 0 then
			if KSR.auth.auth_get_www_authenticate("myrealm", 1, "$var(wauth)") > 0 then
				KSR.msrp.reply("401", "Unauthorized", KSR.pv.get("$var(wauth)"))
			else
				KSR.msrp.reply("500", "Server Error")
			end
			KSR.x.exit()
		end

		KSR.msrp.cmap_save()
	elseif method == "SEND" or method == "REPORT" then
		if KSR.pv.get("$msrp(nexthops)") > 1 then
			if method ~= "REPORT" then
				KSR.msrp.reply("200", "OK")
			end
			KSR.msrp.relay()
			KSR.x.exit()
		end

		if KSR.msrp.cmap_lookup() > 0 then
			if method ~= "REPORT" then
				KSR.msrp.reply("200", "OK")
			end
			KSR.msrp.relay_flags(1)
			KSR.msrp.relay()
		else
			KSR.msrp.reply("481", "Session-does-not-exist")
		end
	else
		KSR.msrp.reply("501", "Request-method-not-understood")
	end
	return 1
end
