#include "tether/app/daemon.h"

#include <net/if.h>
#include <sys/stat.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <set>

#include "config/runtime_settings.h"
#include "softap/control/softap_commands.h"
#include "softap/service/softap_service.h"
#include "softap/service/wifi_upstream_service.h"
#include "tether/app/idle_watch.h"
#include "tether/app/web_commands.h"
#include "tether/control/bluetooth_commands.h"
#include "tether/control/command_table.h"
#include "tether/control/control_server.h"
#include "tether/control/event_text.h"
#include "tether/core/client_usage.h"
#include "tether/core/dhcp_service.h"
#include "tether/core/lease_watch.h"
#include "tether/system/netfilter/iptc_firewall.h"
#include "tether/system/neighbour_watch.h"
#include "tether/system/nl_ndp_relay.h"
#include "tether/system/ns_watch.h"
#include "tether/base/files.h"
#include "tether/base/heap.h"
#include "tether/base/working_set.h"
#include "tether/base/log.h"
#include "tether/system/nl_monitor.h"
#include "tether/system/nl_netlink.h"
#include "tether/system/nl_conntrack.h"
#include "tether/system/netfilter/nft_ruleset.h"
#include "tether/core/offload_counts.h"
#include "tether/system/nl_routing.h"
#include "tether/system/nl_shaper.h"
#include "tether/system/net_probe.h"
#include "tether/system/process.h"
#include "tether/system/sd_daemon.h"
#include "tether/system/sysctl.h"
#include "tether/control/tether_commands.h"
#include "tether/core/tether_manager.h"
#include "tether/control/usb_commands.h"
#include "tether/app/running_config.h"
#include "web/web_server.h"

namespace tetherd {

namespace asio = boost::asio;
using namespace control;

struct Daemon::Impl {
  explicit Impl(DaemonOptions o) : options(std::move(o)), signals(io), control(io, [this](const Request& r, const Responder& resp) { commands.dispatch(r, resp); }) {}

  // At start and on SIGHUP: the file (or the defaults), argv's overrides, the page's settings.
  Result<Config> loadConfig() {
    std::error_code ec;
    Result<Config> c = defaultConfig();
    if (!options.configExplicit && !std::filesystem::exists(options.configPath, ec))
      log::notice("no config file at ", options.configPath, ": using defaults");
    else
      c = loadConfigFile(options.configPath);
    if (!c) return c;
    if (!options.controlSocketOverride.empty()) c->controlSocket = options.controlSocketOverride;
    if (!options.logLevelOverride.empty()) log::parseLevel(options.logLevelOverride, c->logLevel);
    return withRuntimeSettings(std::move(c.value()));  // the web page's saved settings on top
  }

  // What a configuration change reconfigures, in this order (the soft AP before the manager,
  // which may start it), whichever path it came by (RunningConfig::applyConfig).
  void followConfig() {
    running.follow([this](const Config& c) { if (dhcp) dhcp->reconfigure(c); });
    running.follow([this](const Config& c) { if (softap) softap->reconfigure(c); });
    running.follow([this](const Config& c) { if (pd) pd->reconfigure(c); });
    // tetherd's own tables moved: the view learns default routes from every other table.
    running.follow([this](const Config& c) { kernel.tables = LearntTables{c.routeTableFirst, c.routeTableLast}; });
    running.follow([this](const Config& c) { if (manager) manager->reconfigure(c); });
    running.follow([this](const Config& c) { if (usb) usb->reconfigure(c); });
    running.follow([this](const Config& c) { if (bluetooth) bluetooth->reconfigure(c); });
    running.follow([this](const Config& c) { if (web) web->reconfigure(c); });
    running.follow([this](const Config& c) { watchNeighbours(c); });  // IPv6 turned on by a reload
  }

  void registerCommands() {
    commands.add("ping", "ping", [](const Request& r, const Responder& resp) {
      if (!r.args.empty()) return resp.finish(code::CommandSyntaxError, "Usage: ping");
      resp.finish(code::CommandOkay, "pong");
    });
    commands.add("version", "version", [](const Request&, const Responder& resp) {
      resp.finish(code::CommandOkay, "tetherd " TETHERD_VERSION);
    });
    commands.add("help", "help", [this](const Request&, const Responder& resp) {
      for (const auto& u : commands.usages()) resp.line(code::SettingList, u);
      resp.finish(code::CommandOkay, "end of command list");
    });
    commands.add("status", "status", [this](const Request&, const Responder& resp) {
      auto up = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started);
      resp.finish(code::StatusReport, "state=running version=" TETHERD_VERSION " uptime=" + std::to_string(up.count()) +
                                          " clients=" + std::to_string(control.clientCount()) +
                                          " config=" + (config.sourceName.empty() ? "defaults" : config.sourceName));
    });
  }

  Status openControlSocket() {
    int n = systemd::listenFds();
    if (n < 0) return makeError(Errc::InvalidArgument, "LISTEN_PID / LISTEN_FDS from systemd are malformed");
    if (n > 1) return makeError(Errc::InvalidArgument, "systemd passed " + std::to_string(n) + " sockets; expected one");
    if (n == 1) {
      if (!systemd::isListeningUnixStream(systemd::kListenFdsStart))
        return makeError(Errc::InvalidArgument, "the socket systemd passed is not a listening unix stream socket");
      log::info("control socket handed over by systemd (socket activation)");
      return control.adoptFd(systemd::kListenFdsStart);
    }
    std::filesystem::path dir = std::filesystem::path(config.controlSocket).parent_path();
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return makeError(Errc::SystemError, "create " + dir.string() + ": " + ec.message());
    auto st = control.listenPath(config.controlSocket, config.controlGroup);
    if (st) log::info("control socket listening on ", config.controlSocket);
    return st;
  }

  void waitSignals() {
    signals.async_wait([this](boost::system::error_code ec, int sig) {
      if (ec) return;
      if (sig == SIGHUP) {
        reload();
        waitSignals();
        return;
      }
      log::notice("received ", sig == SIGTERM ? "SIGTERM" : "SIGINT", ": shutting down");
      if (shuttingDown) return;
      shuttingDown = true;
      waitSignals();  // a second signal during the orderly stop is absorbed
      monitor.reset();
      if (web) web->stop();
      leaseWatch.reset();
      if (usage) usage->stop();  // the last counts, before the rules go
      neighbourWatch.reset();
      if (!manager) return shutdown();
      manager->stop([this] {
        // hostapd too is let go of only once it has exited (never SIGKILLed at stop).
        auto next = [this] { stopRadios([this] { shutdown(); }); };
        if (softap) softap->stopAll([this, next] { wifiUpstream ? wifiUpstream->stop(next) : next(); });
        else next();
      });
    });
  }

  // SIGHUP: a new config takes effect whole, or not at all (the page's Settings: the same path).
  void reload() {
    systemd::notify("RELOADING=1");
    (void)running.reload();
    systemd::notify("READY=1");
  }

  // The tethering core: real adapters, the manager, and the netlink event stream.
  Status startTethering() {
    if (auto st = ensureDirs(); !st) return st;
    dhcp = std::make_unique<DnsmasqService>(io, processes, config);
    dhcp->cleanupStale();
    pd = std::make_unique<DhcpcdPdClient>(io, processes, config);
    pd->cleanupStale();
    if (auto st = pd->watch(); !st) log::error("prefix delegation unavailable: ", st.error().message);
    idle = std::make_unique<IdleMonitor>(
        io, [this](const std::string& label) { return openIdleTimerWatch(io, label); },
        [] { return std::chrono::steady_clock::now(); },
        [this](const std::string& ifname) { return manager->removeInterface(ifname); }, [this](const Event& e) { event(e); });
    manager = std::make_unique<TetherManager>(
        ManagerDeps{io, netlink, countedFirewall, sysctl, kernel, &routing, &prober, &shaper, netnsInode(),
                    [this](const std::map<std::string, IdleTimer>& t) { if (idle) idle->sync(t); },
                    pd.get(), &conntrack, true, &nft, &ndpRelay,
                    [this](const std::optional<std::pair<std::string, Ipv6Prefix>>& w) { watchSolicits(w); }},
        *dhcp, config, [this](const Event& e) { event(e); });
    registerTetherCommands(commands, *manager);
    softap = std::make_unique<softap::SoftApService>(
        io, processes, *dhcp, config, [this](const Event& e) { event(e); },
        [this](const std::string& ifname) { manager->apReady(ifname); },
        [this](const std::string& ifname, const Error& e) { manager->apLost(ifname, e); });
    if (auto st = softap->load(); !st) return st;
    manager->setAccessPoint(softap.get());
    softap::registerSoftapCommands(commands, *softap, *manager);
    // A Wi-Fi upstream (travel router): before the manager looks at interfaces, so that a soft
    // AP interface a previous run left on the station's radio is gone first.
    wifiUpstream = std::make_unique<softap::WifiUpstreamService>(io, processes, config, *softap);
    if (auto st = wifiUpstream->start(); !st) log::error("Wi-Fi upstream not started: ", st.error().message);
    // Upstreams' default routes from any table but tetherd's own (its copies of them).
    kernel.tables = LearntTables{config.routeTableFirst, config.routeTableLast};
    monitor = std::make_unique<NetlinkMonitor>(io, kernel, [this](const NetEvent& e) {
      if (manager) manager->onNetEvent(e);
      if (usb) usb->onNetEvent(e);
    });
    // Events first, then the dump: nothing that happens in between is missed.
    if (auto st = monitor->start(); !st) return st;
    if (auto st = manager->start(); !st) return st;
    if (config.autostart)
      if (auto st = manager->startTethering(); !st) log::error("tethering did not start: ", st.error().message);
    startRadios();
    startClients();
    startWeb();
    return {};
  }

  // The USB gadget and the Bluetooth NAP only make interfaces appear (the manager tethers
  // them by name): a failure is reported by `usb status` / `bluetooth status`, not fatal.
  void startRadios() {
    usb = std::make_unique<UsbGadgetService>(io, netlink, gadgetFs, config);
    if (auto st = usb->start(); !st) log::error("USB tethering gadget not set up: ", st.error().message);
    registerUsbCommands(commands, *usb);
    bluetooth = std::make_unique<BluetoothPan>(io, netlink, config);
    if (auto st = bluetooth->start(); !st) log::error("Bluetooth NAP not set up: ", st.error().message);
    registerBluetoothCommands(commands, *bluetooth);
  }

  // Kick/block of any downstream's client, for the control socket and the web page alike.
  void startClients() {
    ClientHooks hooks = softap ? softap->clientHooks() : ClientHooks{};
    hooks.usbReplug = [this]() -> Status {
      if (!usb) return makeError(Errc::ServiceUnavail, "no USB gadget");
      return usb->replug();
    };
    hooks.bluetoothDisconnect = [this](const std::string& mac, std::function<void(Status)> done) {
      if (!bluetooth) return done(makeError(Errc::ServiceUnavail, "no Bluetooth NAP"));
      bluetooth->disconnect(mac, std::move(done));
    };
    hooks.neighbours6 = [this](const std::string& ifname) { return netlink.neighbours6(ifname); };
    clients = std::make_unique<ClientActions>(*manager, *dhcp, std::move(hooks));
    // Per-client usage (issue 14): counted by the firewall, kept in state_dir; the counter
    // rules follow the lease files (read first: the last bytes of a lease that goes count).
    usage = std::make_unique<ClientUsage>(io, countedFirewall, *dhcp, config.stateDir + "/client-usage");
    usage->start();
    // Offloaded flows' ends (issue 18): their last bytes, from conntrack's destroy events.
    if (config.offload != OffloadMode::Off)
      if (auto st = ctEvents.start(); !st) log::warning("offload: ", st.error().message, " (ended flows' last bytes not counted)");
    // Quotas (issue 14): every plan reads the counters first (today's remaining bytes go to
    // the kernel's quota match); the minute's read sends the alerts and notices midnight.
    manager->setUsageSource([this] {
      usage->sample();
      return UsageView{usage->today(), &usage->history()};
    });
    usage->onMinute([this] { manager->usageSampled(UsageView{usage->today(), &usage->history()}); });
    if (!manager->quotas().empty()) manager->leasesChanged();  // planned before the source was there
    leaseWatch = std::make_unique<LeaseWatch>(io, config.stateDir, [this] {
      usage->sample();
      manager->leasesChanged();
      usage->leasesChanged();  // the first clients' rules are there now: read them a minute on
    });
    if (auto st = leaseWatch->start(); !st) log::error("lease files not watched: ", st.error().message);
    // The clients' IPv6 addresses (neighbour table) are counted with their leases' too.
    neighbourWatch = std::make_unique<NeighbourWatch>(io, [this] {
      usage->sample();
      manager->neighboursChanged();
    });
    auto index = [](const std::string& ifname) { return static_cast<int>(if_nametoindex(ifname.c_str())); };
    manager->setNeighbourSource([this, index](const std::string& ifname) {
      return neighbourWatch ? neighbourWatch->book().on(index(ifname)) : std::map<std::string, std::vector<Ipv6Address>>{};
    });
    usage->setOwners6([this, index](const std::string& ifname) {
      return neighbourWatch ? neighbourWatch->book().owners(index(ifname)) : std::map<std::string, std::string>{};
    });
    watchNeighbours(config);
    registerClientCommands(commands, *clients, usage.get());
  }

  // The neighbour table is watched only while IPv6 is on: its events (IPv4 ones too, there is
  // no kernel-side filter) would otherwise wake tetherd for nothing while clients talk.
  void watchNeighbours(const Config& c) {
    if (!neighbourWatch || neighbourWatchOn || c.ipv6 == Ipv6Mode::Off) return;
    if (auto st = neighbourWatch->start(); !st) log::error("IPv6 neighbours not watched: ", st.error().message);
    else neighbourWatchOn = true;
  }

  // IPv6 relay: the relaying upstream's neighbour solicitations for its /64 (manager_relay.cpp).
  void watchSolicits(const std::optional<std::pair<std::string, Ipv6Prefix>>& w) {
    if (!w) return nsWatch.stop();
    if (auto st = nsWatch.watch(w->first, w->second); !st)
      log::error("IPv6 relay: new clients are found only by their own traffic: ", st.error().message);
  }

  // After the manager has untethered everything: NAP unregistered, bridge and gadget removed.
  void stopRadios(std::function<void()> done) {
    if (usb) usb->stop();
    if (!bluetooth) return done();
    bluetooth->stop(std::move(done));
  }

  // Events of the manager, the soft AP and the daemon: to control clients as 6xx lines, and to
  // the web page (its listeners follow the downstreams' addresses; live views get the change
  // and a fresh status).
  void event(const Event& e) {
    auto line = control::formatEvent(e);
    control.broadcast(line.code, line.text);
    if (web) web->onEvent(e);
    if (idle) idle->onEvent(e);
  }

  // The admin page (web/): listens only when [web] enabled = yes; its `web` commands (password)
  // work either way. A problem there is logged; tethering goes on without it.
  void startWeb() {
    web = std::make_unique<web::WebServer>(web::WebDeps{
        io, *manager, softap.get(), [this]() -> const Config& { return config; },
        [this](const Config& c) { running.applyConfig(c); },  // the page's Settings: SIGHUP's path
        [] { return std::chrono::steady_clock::now(); }, {}, web::defaultHashParams(), {}, clients.get(),
        dhcp.get(), usage.get()});
    if (config.webEnabled) {
      std::set<uint16_t> ports{static_cast<uint16_t>(config.webPort)};
      if (config.webHttps) ports.insert(static_cast<uint16_t>(config.webHttpsPort));
      if (auto st = manager->setAdminPorts(ports); !st)
        log::error("web: firewall rule for port ", config.webPort, ": ", st.error().message);
    }
    if (auto st = web->start(); !st) {
      log::error("web: admin page disabled: ", st.error().message);
      web.reset();
      return;
    }
    registerWebCommands(commands, *web);
  }

  Status ensureDirs() {
    std::error_code ec;
    std::filesystem::create_directories(config.runDir, ec);
    if (ec) return makeError(Errc::SystemError, "create " + config.runDir + ": " + ec.message());
    // Leases (client MACs, hostnames), the admin password hash, blocked clients: private.
    auto tightened = ensurePrivateDir(config.stateDir, 0750);
    if (!tightened) return makeError(tightened.error().code, "state_dir: " + tightened.error().message);
    if (*tightened)
      log::notice("state_dir ", config.stateDir, " was readable by other users (mode ", octal(**tightened),
                  "); now ", octal(**tightened & 0750));
    // What a killed run left: temporaries of atomic writes, hostapd client sockets.
    int removed = 0;
    for (const auto& dir : {config.runDir, config.runDir + "/hostapd-client", config.stateDir})
      removed += removeLeftoversOfDeadProcesses(dir);
    if (removed > 0) log::notice("removed ", removed, " file(s) a previous run left in run_dir/state_dir");
    return {};
  }

  static std::string octal(mode_t m) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(m & 07777));
    return buf;
  }

  void shutdown() {
    systemd::notify("STOPPING=1");
    signals.cancel();
    control.stop();
    io.stop();
  }

  int run() {
    if (auto st = running.load(); !st) {
      log::error(st.error().message);
      return 2;
    }
    followConfig();
    signals.add(SIGTERM);
    signals.add(SIGINT);
    signals.add(SIGHUP);
    std::signal(SIGPIPE, SIG_IGN);
    registerCommands();
    if (auto st = openControlSocket(); !st) {
      log::error("cannot open control socket: ", st.error().message);
      return 1;
    }
    if (auto st = startTethering(); !st) {
      log::error("cannot start: ", st.error().message);
      control.stop();
      return 1;
    }
    waitSignals();
    started = std::chrono::steady_clock::now();
    systemd::notify("READY=1");
    log::notice("tetherd ", TETHERD_VERSION, " ready");
    // Once start-up has settled, keep resident only what tetherd touches from then on (the
    // minute's counter read trims again while clients are counted). One wake-up, not periodic.
    settled.expires_after(std::chrono::seconds(10));
    settled.async_wait([](boost::system::error_code ec) {
      if (ec) return;
      trimHeap();
      log::debug("idle working set: ", trimWorkingSet() / 1024, " kB of clean file pages unmapped");
    });
    io.run();
    log::notice("tetherd stopped");
    return 0;
  }

  DaemonOptions options;
  RunningConfig running{[this] { return loadConfig(); },
                        [this] { event({events::ConfigReloaded{}}); }};
  const Config& config = running.current();
  asio::io_context io{1};
  asio::signal_set signals;
  CommandTable commands;
  ControlServer control;
  std::chrono::steady_clock::time_point started;
  asio::steady_timer settled{io};  // once, after start-up: the working set is trimmed
  bool shuttingDown = false;
  NlNetlink netlink;
  KernelView kernel;  // the one picture of the kernel: NetlinkMonitor writes, everyone reads
  IptcFirewall firewall;
  NlRouting routing;
  NlShaper shaper;  // rate limits (issue 14)
  AsioNetProber prober{io};
  NlConntrack conntrack;
  LibNftables nft;  // flowtable offload (issue 18): libnftables loaded when first used
  // The firewall's counters plus the offloaded flows' bytes (offload_counts.h): what the
  // manager and ClientUsage read.
  OffloadCountedFirewall countedFirewall{firewall, conntrack, [this] { return manager && manager->offload().active; },
                                         [this] {
                                           // offload turned on by a reload: the destroy events from now on
                                           if (!ctEvents.running()) (void)ctEvents.start();
                                           ctEvents.drain();
                                         }};
  CtDestroyWatch ctEvents{io, kOffloadMark, [this](const CtCounted& f) { countedFirewall.ended(f); }};
  NlNdpRelay ndpRelay;  // IPv6 relay's routes and proxy entries
  NsWatch nsWatch{io, [this](const Ipv6Address& target) { if (manager) manager->solicited(target); }};
  ProcSysctl sysctl;
  PosixProcessRunner processes{io};
  std::unique_ptr<DnsmasqService> dhcp;
  std::unique_ptr<DhcpcdPdClient> pd;  // before the manager, which holds it
  std::unique_ptr<IdleMonitor> idle;
  std::unique_ptr<TetherManager> manager;
  std::unique_ptr<softap::SoftApService> softap;
  std::unique_ptr<softap::WifiUpstreamService> wifiUpstream;
  std::unique_ptr<NetlinkMonitor> monitor;
  usb::RealGadgetFs gadgetFs;
  std::unique_ptr<UsbGadgetService> usb;
  std::unique_ptr<BluetoothPan> bluetooth;
  std::unique_ptr<ClientActions> clients;
  std::unique_ptr<ClientUsage> usage;
  std::unique_ptr<LeaseWatch> leaseWatch;
  std::unique_ptr<NeighbourWatch> neighbourWatch;
  bool neighbourWatchOn = false;
  std::unique_ptr<web::WebServer> web;  // last: goes first, before what it calls
};

Daemon::Daemon(DaemonOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Daemon::~Daemon() = default;
int Daemon::run() { return impl_->run(); }

}  // namespace tetherd
