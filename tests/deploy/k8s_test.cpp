// deploy/k8s as the cluster and the daemon would take it: every document well formed and in the
// namespace, every reference (labels, volumes, ConfigMaps, Secrets, ports) resolving inside the
// directory, every flag and subcommand real (asked of the built tilmashd and tilmashctl), every
// tilmashd.yaml made of keys the daemon knows, and the HLS cache's directives those of
// deploy/nginx/tilmash-hls.conf.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>

#include "daemon/config.h"
#include "shell.h"

namespace tilmash::daemon {
namespace {

namespace fs = std::filesystem;
const std::string kK8s = std::string(TILMASH_SOURCE_DIR) + "/deploy/k8s/";

struct Doc {
  std::string file;
  YAML::Node node;
  std::string kind() const { return node["kind"].as<std::string>(""); }
  std::string name() const { return node["metadata"]["name"].as<std::string>(""); }
  std::string where() const { return file + ": " + kind() + "/" + name(); }
};

// Every non-empty document of every deploy/k8s/*.yaml, files in name order (kubectl's order).
const std::vector<Doc>& Docs() {
  static const std::vector<Doc> docs = [] {
    std::vector<std::string> files;
    for (const auto& e : fs::directory_iterator(kK8s))
      if (e.path().extension() == ".yaml") files.push_back(e.path().filename().string());
    std::sort(files.begin(), files.end());
    std::vector<Doc> all;
    for (const auto& f : files) {
      try {
        for (const auto& n : YAML::LoadAllFromFile(kK8s + f))
          if (n.IsMap()) all.push_back({f, n});
      } catch (const YAML::Exception& e) {
        ADD_FAILURE() << f << ": " << e.what();
      }
    }
    return all;
  }();
  return docs;
}

std::vector<Doc> OfKind(const std::string& kind) {
  std::vector<Doc> out;
  for (const auto& d : Docs())
    if (d.kind() == kind) out.push_back(d);
  return out;
}

std::optional<Doc> Find(const std::string& kind, const std::string& name) {
  for (const auto& d : OfKind(kind))
    if (d.name() == name) return d;
  return std::nullopt;
}

// The keys a ConfigMap (data) or Secret (data and stringData) holds.
std::map<std::string, std::string> Entries(const Doc& d) {
  std::map<std::string, std::string> out;
  for (const char* field : {"data", "stringData"})
    for (const auto& kv : d.node[field]) out[kv.first.as<std::string>()] = kv.second.as<std::string>("");
  return out;
}

bool LabelsContain(const YAML::Node& labels, const YAML::Node& wanted) {
  if (!wanted.IsMap() || wanted.size() == 0) return false;
  for (const auto& kv : wanted)
    if (!labels[kv.first.as<std::string>()] ||
        labels[kv.first.as<std::string>()].as<std::string>() != kv.second.as<std::string>())
      return false;
  return true;
}

int PortOf(const std::string& host_port) { return std::atoi(host_port.substr(host_port.rfind(':') + 1).c_str()); }

using tilmash::testing::Shell;

std::string Bin(const std::string& tool) {
  const char* dir = std::getenv("TILMASH_BIN");
  return std::string(dir ? dir : TILMASH_BIN_DIR) + "/" + tool;
}

// The options a CLI11 --help lists, each with whether it takes a value ("--server TEXT").
std::map<std::string, bool> OptionsInHelp(const std::string& help) {
  std::map<std::string, bool> options;
  static const std::regex line(R"(^\s+(?:-\w,)?(--[a-z0-9][a-z0-9-]*)(\s+[A-Z]+\b)?)");
  std::istringstream in(help);
  for (std::string l; std::getline(in, l);)
    if (std::smatch m; std::regex_search(l, m, line)) options[m[1]] = m[2].matched;
  return options;
}

// A pod of a Deployment whose container runs tilmashd, and the configuration file its --config names.
struct Pod {
  Doc deployment;
  YAML::Node spec;       // template.spec
  YAML::Node container;  // the tilmashd one
  YAML::Node settings;   // the file as YAML (read even when the daemon would refuse it)
  std::string problem;   // why the daemon would not load the file; "" when it would
  std::optional<Config> config;
  // A key's value as written, else the daemon's default.
  std::string Setting(const std::string& key, const std::string& fallback) const {
    return settings[key] ? settings[key].as<std::string>("") : fallback;
  }
};

// Which volume a container sees `path` in (*volume, null when none) and the key inside it: the
// ConfigMap or Secret entry, "" for the volume's own directory. The deepest mount wins.
std::string MountedEntry(const YAML::Node& spec, const YAML::Node& container, const std::string& path,
                         YAML::Node* volume) {
  std::string key, deepest, name;
  for (const auto& m : container["volumeMounts"]) {
    const std::string at = m["mountPath"].as<std::string>(""), sub = m["subPath"].as<std::string>("");
    if (at.size() <= deepest.size()) continue;
    if (path == at) {
      key = sub;
    } else if (sub.empty() && path.rfind(at + "/", 0) == 0) {
      key = path.substr(at.size() + 1);
    } else {
      continue;
    }
    deepest = at;
    name = m["name"].as<std::string>("");
  }
  for (const auto& v : spec["volumes"]) {
    if (!name.empty() && v["name"].as<std::string>("") == name) {
      *volume = static_cast<const YAML::Node&>(v);
      break;
    }
  }
  return key;
}

std::optional<Doc> ObjectOf(const YAML::Node& volume) {
  if (volume["configMap"]) return Find("ConfigMap", volume["configMap"]["name"].as<std::string>(""));
  if (volume["secret"]) return Find("Secret", volume["secret"]["secretName"].as<std::string>(""));
  return std::nullopt;
}

// Read once: every test looks at the same pods.
const std::vector<Pod>& TilmashdPods() {
  static const std::vector<Pod> pods = [] {
    std::vector<Pod> out;
    for (const auto& d : OfKind("Deployment")) {
      const YAML::Node spec = d.node["spec"]["template"]["spec"];
      for (const auto& c : spec["containers"]) {
        if (c["command"][0].as<std::string>("") != "tilmashd") continue;
        Pod pod{d, spec, static_cast<const YAML::Node&>(c), YAML::Node(YAML::NodeType::Map), "", std::nullopt};
        const auto args = c["args"].as<std::vector<std::string>>(std::vector<std::string>{});
        const auto it = std::find(args.begin(), args.end(), "--config");
        YAML::Node volume;
        const std::string key =
            it == args.end() || it + 1 == args.end() ? "" : MountedEntry(spec, c, *(it + 1), &volume);
        const auto object = ObjectOf(volume);
        if (!object || !Entries(*object).count(key)) {
          pod.problem = "tilmashd's --config is no entry of a ConfigMap of deploy/k8s";
        } else {
          const std::string text = Entries(*object).at(key);
          pod.settings = YAML::Load(text);
          const std::string path = ::testing::TempDir() + "k8s-" + object->name() + ".yaml";
          std::ofstream(path) << text;
          Config config;
          if (LoadConfigFile(path, &config, &pod.problem)) pod.config = config;
          pod.problem = pod.problem.empty() ? "" : object->where() + " " + key + ": " + pod.problem;
        }
        out.push_back(pod);
      }
    }
    return out;
  }();
  return pods;
}

TEST(K8s, EveryDocumentIsAKnownKindNamedInTheTilmashNamespaceWhichComesFirst) {
  ASSERT_FALSE(Docs().empty());
  const std::set<std::string> known = {"Namespace", "ConfigMap", "Secret", "Deployment", "Service"};
  std::set<std::string> seen;
  for (const auto& d : Docs()) {
    EXPECT_TRUE(d.node["apiVersion"].IsScalar()) << d.where() << ": no apiVersion";
    EXPECT_TRUE(known.count(d.kind())) << d.where() << ": unknown kind";
    EXPECT_FALSE(d.name().empty()) << d.where() << ": no metadata.name";
    EXPECT_TRUE(seen.insert(d.kind() + "/" + d.name()).second) << d.where() << ": defined twice";
    if (d.kind() != "Namespace") {
      EXPECT_EQ(d.node["metadata"]["namespace"].as<std::string>(""), "tilmash") << d.where();
    }
  }
  ASSERT_EQ(OfKind("Namespace").size(), 1u);
  EXPECT_EQ(OfKind("Namespace")[0].name(), "tilmash");
  EXPECT_EQ(OfKind("Namespace")[0].file, Docs().front().file) << "kubectl applies files in name order";
}

TEST(K8s, EveryTilmashdYamlHoldsOnlyKeysTheDaemonKnowsAndPassesItsChecks) {
  const auto& keys = ConfigKeys();
  int files = 0;
  for (const auto& d : OfKind("ConfigMap")) {
    if (!Entries(d).count("tilmashd.yaml")) continue;
    ++files;
    const YAML::Node root = YAML::Load(Entries(d).at("tilmashd.yaml"));
    ASSERT_TRUE(root.IsMap()) << d.where();
    for (const auto& kv : root)
      EXPECT_TRUE(std::count(keys.begin(), keys.end(), kv.first.as<std::string>()))
          << d.where() << ": tilmashd.yaml key " << kv.first.as<std::string>() << " is not in ConfigKeys()";
  }
  EXPECT_GE(files, 2) << "the origin's and the edges'";
  for (const auto& pod : TilmashdPods()) {
    EXPECT_EQ(pod.problem, "") << pod.deployment.where();
    if (pod.config) {
      EXPECT_EQ(Validate(*pod.config), "") << pod.deployment.where();
    }
  }
}

TEST(K8s, DeploymentsSelectTheirPodsProbeEveryContainerAndMountOnlyWhatExists) {
  for (const auto& d : OfKind("Deployment")) {
    const YAML::Node tmpl = d.node["spec"]["template"];
    EXPECT_TRUE(LabelsContain(tmpl["metadata"]["labels"], d.node["spec"]["selector"]["matchLabels"])) << d.where();
    const YAML::Node spec = tmpl["spec"];
    std::set<std::string> volumes;
    for (const auto& v : spec["volumes"]) {
      volumes.insert(v["name"].as<std::string>(""));
      if (!v["configMap"] && !v["secret"]) continue;
      const auto object = ObjectOf(v);
      EXPECT_TRUE(object) << d.where() << ": volume " << v["name"] << " names no object of deploy/k8s";
      for (const auto& item : (v["configMap"] ? v["configMap"] : v["secret"])["items"])
        EXPECT_TRUE(object && Entries(*object).count(item["key"].as<std::string>()))
            << d.where() << ": volume " << v["name"] << " item " << item["key"];
    }
    ASSERT_GT(spec["containers"].size(), 0u) << d.where();
    for (const auto& c : spec["containers"]) {
      const std::string where = d.where() + " container " + c["name"].as<std::string>("");
      EXPECT_FALSE(c["image"].as<std::string>("").empty()) << where;
      EXPECT_TRUE(c["readinessProbe"].IsMap()) << where;
      EXPECT_TRUE(c["livenessProbe"].IsMap()) << where;
      for (const auto& m : c["volumeMounts"]) {
        EXPECT_TRUE(volumes.count(m["name"].as<std::string>(""))) << where << ": mount of no volume " << m["name"];
        YAML::Node volume;
        const std::string key = MountedEntry(spec, c, m["mountPath"].as<std::string>(""), &volume);
        if (m["subPath"] && ObjectOf(volume)) {
          EXPECT_TRUE(Entries(*ObjectOf(volume)).count(key)) << where << ": subPath " << key << " is no entry";
        }
      }
    }
  }
}

TEST(K8s, TilmashdPodsUseTheNodesNetworkRealFlagsRealFilesAndRealTilmashctlCommands) {
  const auto [daemon_help, daemon_code] = Shell(Bin("tilmashd") + " --help");
  ASSERT_EQ(daemon_code, 0) << daemon_help;
  const auto daemon_flags = OptionsInHelp(daemon_help);
  ASSERT_TRUE(daemon_flags.count("--config")) << daemon_help;
  const auto [ctl_help, ctl_code] = Shell(Bin("tilmashctl") + " --help");
  ASSERT_EQ(ctl_code, 0) << ctl_help;
  const auto ctl_options = OptionsInHelp(ctl_help);
  const std::string subcommands = ctl_help.substr(ctl_help.find("Subcommands:"));
  std::set<std::string> names;
  for (const auto& pod : TilmashdPods()) names.insert(pod.deployment.name());
  EXPECT_EQ(names, (std::set<std::string>{"tilmash-origin", "tilmash-edge"}));
  for (const auto& pod : TilmashdPods()) {
    const std::string where = pod.deployment.where();
    EXPECT_TRUE(pod.spec["hostNetwork"].as<bool>(false)) << where << ": media is UDP on the node's ports";
    EXPECT_EQ(pod.spec["dnsPolicy"].as<std::string>(""), "ClusterFirstWithHostNet") << where;
    for (const auto& arg : pod.container["args"].as<std::vector<std::string>>(std::vector<std::string>{}))
      if (arg.rfind("--", 0) == 0) {
        EXPECT_TRUE(daemon_flags.count(arg.substr(0, arg.find('=')))) << where << ": tilmashd has no " << arg;
      }
    // Every file the configuration names is in a mounted volume (the root file system is
    // read-only), and one in a ConfigMap or Secret is an entry of it.
    for (const auto& kv : pod.settings) {
      const std::string value = kv.second.IsScalar() ? kv.second.as<std::string>() : "";
      if (value.rfind('/', 0) != 0) continue;
      YAML::Node volume;
      const std::string key = MountedEntry(pod.spec, pod.container, value, &volume);
      EXPECT_TRUE(volume.IsMap()) << where << ": " << kv.first << " " << value << " is in no volume";
      if (const auto object = ObjectOf(volume)) {
        EXPECT_TRUE(Entries(*object).count(key)) << where << ": " << value << " is no entry of " << object->where();
      }
    }
    const YAML::Node exec = pod.container["livenessProbe"]["exec"]["command"];
    ASSERT_TRUE(exec.IsSequence()) << where << ": the liveness probe runs tilmashctl health";
    const auto probe = exec.as<std::vector<std::string>>();
    ASSERT_EQ(probe[0], "tilmashctl") << where;
    std::string subcommand;
    for (size_t i = 1; i < probe.size(); ++i) {
      if (probe[i].rfind("--", 0) != 0) {
        if (subcommand.empty()) subcommand = probe[i];
        continue;
      }
      const auto option = ctl_options.find(probe[i]);
      EXPECT_NE(option, ctl_options.end()) << where << ": tilmashctl has no " << probe[i];
      if (option == ctl_options.end() || !option->second || i + 1 == probe.size()) continue;
      const std::string& value = probe[++i];
      if (option->first == "--server") {
        EXPECT_EQ(PortOf(value), PortOf(pod.Setting("grpc_listen", Config{}.grpc_listen))) << where;
      }
      if (option->first == "--ca") {
        YAML::Node volume;
        const std::string key = MountedEntry(pod.spec, pod.container, value, &volume);
        EXPECT_TRUE(ObjectOf(volume) && Entries(*ObjectOf(volume)).count(key)) << where << ": --ca " << value;
      }
    }
    EXPECT_TRUE(std::regex_search(subcommands, std::regex("\n  " + subcommand + " ")))
        << where << ": tilmashctl has no subcommand '" << subcommand << "'";
    EXPECT_EQ(Shell(Bin("tilmashctl") + " " + subcommand + " --help").second, 0) << where;
  }
}

TEST(K8s, PortsProbesAndScrapeAnnotationsAreTheDaemonsConfiguredPorts) {
  const Config defaults;
  for (const auto& pod : TilmashdPods()) {
    const std::string where = pod.deployment.where();
    const int grpc = PortOf(pod.Setting("grpc_listen", defaults.grpc_listen));
    const int http = PortOf(pod.Setting("http_listen", defaults.http_listen));
    std::set<int> declared;
    for (const auto& p : pod.container["ports"]) declared.insert(p["containerPort"].as<int>());
    EXPECT_EQ(declared, (std::set<int>{grpc, http})) << where << ": the host ports the scheduler keeps free";
    const YAML::Node ready = pod.container["readinessProbe"]["httpGet"];
    EXPECT_EQ(ready["path"].as<std::string>(""), "/healthz") << where;
    EXPECT_EQ(ready["port"].as<int>(0), http) << where;
    const bool https = !pod.Setting("http_tls_cert", "").empty();
    EXPECT_EQ(ready["scheme"].as<std::string>("HTTP"), https ? "HTTPS" : "HTTP") << where;
    const YAML::Node notes = pod.deployment.node["spec"]["template"]["metadata"]["annotations"];
    EXPECT_EQ(notes["prometheus.io/scrape"].as<std::string>(""), "true") << where;
    EXPECT_EQ(notes["prometheus.io/port"].as<std::string>(""), std::to_string(http)) << where;
    EXPECT_EQ(notes["prometheus.io/path"].as<std::string>(""), "/metrics") << where;
    EXPECT_EQ(notes["prometheus.io/scheme"].as<std::string>(""), https ? "https" : "http") << where;
    EXPECT_GT(pod.spec["terminationGracePeriodSeconds"].as<int>(30),
              std::stoi(pod.Setting("drain_s", std::to_string(defaults.drain_s))))
        << where << ": the kubelet would cut the drain short";
  }
  const auto origin = Find("Deployment", "tilmash-origin");
  ASSERT_TRUE(origin);
  EXPECT_EQ(origin->node["spec"]["replicas"].as<int>(0), 1);
  EXPECT_EQ(origin->node["spec"]["strategy"]["type"].as<std::string>(""), "Recreate");
  const auto edge = Find("Deployment", "tilmash-edge");
  ASSERT_TRUE(edge);
  const YAML::Node apart = edge->node["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]
                                     ["requiredDuringSchedulingIgnoredDuringExecution"][0];
  EXPECT_EQ(apart["topologyKey"].as<std::string>(""), "kubernetes.io/hostname");
  for (const auto& d : {*origin, *edge})
    EXPECT_TRUE(LabelsContain(d.node["spec"]["template"]["metadata"]["labels"], apart["labelSelector"]["matchLabels"]))
        << "two tilmashd on one node would want the same host ports: " << d.where();
}

TEST(K8s, EveryServiceSelectsADeploymentAndTargetsPortsItsPodsListenOn) {
  for (const auto& s : OfKind("Service")) {
    int selected = 0;
    for (const auto& d : OfKind("Deployment")) {
      const YAML::Node tmpl = d.node["spec"]["template"];
      if (!LabelsContain(tmpl["metadata"]["labels"], s.node["spec"]["selector"])) continue;
      ++selected;
      std::set<std::string> ports;  // names and numbers
      for (const auto& c : tmpl["spec"]["containers"])
        for (const auto& p : c["ports"])
          ports.insert({p["name"].as<std::string>(""), p["containerPort"].as<std::string>()});
      for (const auto& pod : TilmashdPods())
        if (pod.deployment.name() == d.name() && pod.spec["hostNetwork"].as<bool>(false))
          ports.insert({std::to_string(PortOf(pod.Setting("grpc_listen", Config{}.grpc_listen))),
                        std::to_string(PortOf(pod.Setting("http_listen", Config{}.http_listen)))});
      for (const auto& p : s.node["spec"]["ports"]) {
        const std::string target = p["targetPort"].as<std::string>(p["port"].as<std::string>(""));
        EXPECT_TRUE(ports.count(target)) << s.where() << ": targetPort " << target << " is no port of " << d.where();
      }
    }
    EXPECT_GE(selected, 1) << s.where() << ": selects no Deployment";
  }
}

// The statements of an nginx file, whitespace squeezed, without comments and block headers.
std::multiset<std::string> Statements(const std::string& text) {
  std::multiset<std::string> out;
  std::string current;
  for (char c : std::regex_replace(text, std::regex("#[^\n]*"), "")) {
    if (c == '{' || c == '}') {
      current.clear();
    } else if (c == ';') {
      out.insert(std::regex_replace(std::regex_replace(current, std::regex(R"(\s+)"), " "), std::regex("^ | $"), ""));
      current.clear();
    } else {
      current += c;
    }
  }
  return out;
}

TEST(K8s, TheHlsCacheCachesAsDeployNginxSaysFromTheOriginService) {
  std::ifstream in(std::string(TILMASH_SOURCE_DIR) + "/deploy/nginx/tilmash-hls.conf");
  const std::string shipped((std::istreambuf_iterator<char>(in)), {});
  const auto cache = Find("ConfigMap", "tilmash-hls-cache-config");
  ASSERT_TRUE(cache && Entries(*cache).count("tilmash-hls.conf"));
  const std::string conf = Entries(*cache).at("tilmash-hls.conf");
  const auto caching = [](const std::multiset<std::string>& all) {
    std::multiset<std::string> out;
    for (const auto& s : all)
      if (std::regex_search(s, std::regex("^(proxy_cache|proxy_ignore_headers|proxy_http_version|keepalive|listen)")))
        out.insert(s);
    return out;
  };
  const auto want = caching(Statements(shipped));
  ASSERT_TRUE(want.count("proxy_cache_lock on")) << "deploy/nginx/tilmash-hls.conf changed its ways:\n" << shipped;
  EXPECT_EQ(caching(Statements(conf)), want)
      << "hls-cache.yaml's nginx site caches differently from deploy/nginx/tilmash-hls.conf";

  const auto origin = std::find_if(TilmashdPods().begin(), TilmashdPods().end(),
                                   [](const Pod& p) { return p.deployment.name() == "tilmash-origin"; });
  ASSERT_NE(origin, TilmashdPods().end());
  const int http = PortOf(origin->Setting("http_listen", Config{}.http_listen));
  EXPECT_TRUE(Statements(conf).count("server tilmash-origin.tilmash.svc:" + std::to_string(http)))
      << "the upstream is the origin Service's HTTP port:\n"
      << conf;
  const auto service = Find("Service", "tilmash-origin");
  ASSERT_TRUE(service);
  bool exposed = false;
  for (const auto& p : service->node["spec"]["ports"]) exposed |= p["port"].as<int>() == http;
  EXPECT_TRUE(exposed) << service->where() << " does not expose " << http;
  if (!origin->Setting("http_tls_cert", "").empty()) {
    EXPECT_EQ(conf.find("proxy_pass http://"), std::string::npos) << "the origin's HTTP side is TLS";
  }
}

TEST(K8s, APlaceholderTokenSecretIsTooShortForTheDaemonToAccept) {
  int checked = 0;
  for (const auto& pod : TilmashdPods()) {
    const std::string file = pod.Setting("token_secret_file", "");
    if (file.empty()) continue;
    YAML::Node volume;
    const std::string key = MountedEntry(pod.spec, pod.container, file, &volume);
    const auto secret = ObjectOf(volume);
    ASSERT_TRUE(secret && Entries(*secret).count(key)) << pod.deployment.where() << ": " << file;
    const std::string value = Entries(*secret).at(key);
    ++checked;
    // auth::LoadOrCreateSecret refuses fewer than 32 bytes: a forgotten edit stops the start.
    if (value.find("REPLACE") != std::string::npos) {
      EXPECT_LT(value.size(), 32u) << secret->where();
    }
  }
  EXPECT_GE(checked, 1);
}

}  // namespace
}  // namespace tilmash::daemon
