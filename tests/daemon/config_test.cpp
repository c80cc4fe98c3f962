// librad's config: command line, file, defaults; errors name key and line.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "common/version.hpp"
#include "librad/config.hpp"

namespace libra {
namespace {

class ConfigTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        char pattern[] = "/tmp/librad-config-XXXXXX";
        ASSERT_NE(mkdtemp(pattern), nullptr);
        dir_ = pattern;
        path_ = dir_ + "/librad.conf";
    }
    void TearDown() override
    {
        std::remove(path_.c_str());
        rmdir(dir_.c_str());
    }
    void write_file(const std::string& text) { std::ofstream(path_) << text; }

    Result<DaemonConfig> load(std::vector<std::string> args)
    {
        args.insert(args.begin(), "librad");
        std::vector<const char*> argv;
        for (const auto& arg : args)
            argv.push_back(arg.c_str());
        auto command_line = parse_command_line(static_cast<int>(argv.size()), argv.data());
        if (!command_line)
            return command_line.error();
        return load_config(command_line.value());
    }

    std::string dir_;
    std::string path_;
};

TEST_F(ConfigTest, DefaultsWhenFileIsEmpty)
{
    write_file("# nothing set\n\n");
    auto config = load({"--config", path_});
    ASSERT_TRUE(config) << config.error().message;
    EXPECT_TRUE(config->config_file_found);
    EXPECT_EQ(config->log_level, "info");
    EXPECT_EQ(config->socket_path, "/run/libra/librad.sock");
    EXPECT_EQ(config->group, "libra");
    EXPECT_EQ(config->device, "/dev/libra");
    EXPECT_EQ(config->bpf_object, kDefaultBpfObject);
    EXPECT_FALSE(config->prometheus_listen.has_value());
    EXPECT_FALSE(config->anchor_limit.has_value()) << "unset: the module keeps its own";
}

TEST_F(ConfigTest, GoodFileSetsEveryKey)
{
    write_file("log-level = debug\n"
               "socket=/run/x/y.sock   # trailing comment\n"
               "group = wheel\n"
               "device = /dev/null\n"
               "bpf-object = /a.o\n"
               "prometheus-listen = 127.0.0.1:9464\n"
               "prometheus-allow-remote = false\n"
               "anchor-limit = 512M\n");
    auto config = load({"--config", path_});
    ASSERT_TRUE(config) << config.error().message;
    EXPECT_EQ(config->anchor_limit, uint64_t{512} << 20);
    EXPECT_EQ(config->log_level, "debug");
    EXPECT_EQ(config->socket_path, "/run/x/y.sock");
    EXPECT_EQ(config->group, "wheel");
    EXPECT_EQ(config->device, "/dev/null");
    EXPECT_EQ(config->bpf_object, "/a.o");
    ASSERT_TRUE(config->prometheus_listen.has_value());
    EXPECT_TRUE(config->prometheus_listen->loopback);
}

TEST_F(ConfigTest, UnknownKeyIsNamedWithItsLine)
{
    write_file("log-level = info\n\n# comment\nanchored-limit = 5\n");
    auto config = load({"--config", path_});
    ASSERT_FALSE(config);
    EXPECT_EQ(config.error().code, ErrorCode::config_error);
    EXPECT_NE(config.error().message.find(path_ + ":4:"), std::string::npos) << config.error().message;
    EXPECT_NE(config.error().message.find("unknown key 'anchored-limit'"), std::string::npos);
}

TEST_F(ConfigTest, BadValueIsNamedWithItsLine)
{
    write_file("socket = /s\nprometheus-allow-remote = maybe\n");
    auto config = load({"--config", path_});
    ASSERT_FALSE(config);
    EXPECT_NE(config.error().message.find(":2: key 'prometheus-allow-remote'"), std::string::npos)
        << config.error().message;
}

TEST_F(ConfigTest, LineWithoutEqualsIsAnError)
{
    write_file("log-level debug\n");
    auto config = load({"--config", path_});
    ASSERT_FALSE(config);
    EXPECT_NE(config.error().message.find(":1: expected 'key = value'"), std::string::npos);
}

TEST_F(ConfigTest, DuplicateSingleKeyIsAnError)
{
    write_file("group = a\ngroup = b\n");
    auto config = load({"--config", path_});
    ASSERT_FALSE(config);
    EXPECT_NE(config.error().message.find(":2: key 'group' already set on line 1"), std::string::npos)
        << config.error().message;
}

TEST_F(ConfigTest, CommandLineWins)
{
    write_file("log-level = debug\nsocket = /from/file.sock\nbpf-object = /file.o\n");
    auto config = load({"--config", path_, "--log-level", "warn", "--bpf-object", "/cli.o"});
    ASSERT_TRUE(config) << config.error().message;
    EXPECT_EQ(config->log_level, "warn");
    EXPECT_EQ(config->socket_path, "/from/file.sock");
    EXPECT_EQ(config->bpf_object, "/cli.o");
}

TEST_F(ConfigTest, UnknownCommandLineOptionIsAnError)
{
    auto config = load({"--no-such-option"});
    ASSERT_FALSE(config);
    EXPECT_NE(config.error().message.find("no-such-option"), std::string::npos);
}

TEST_F(ConfigTest, MissingExplicitFileIsAnError)
{
    auto config = load({"--config", dir_ + "/absent.conf"});
    ASSERT_FALSE(config);
    EXPECT_NE(config.error().message.find("absent.conf"), std::string::npos);
}

TEST_F(ConfigTest, BadLogLevelIsRejected)
{
    write_file("log-level = loud\n");
    EXPECT_FALSE(load({"--config", path_}));
}

TEST_F(ConfigTest, PrometheusIsLoopbackOnlyUnlessAllowed)
{
    write_file("prometheus-listen = 0.0.0.0:9464\n");
    auto refused = load({"--config", path_});
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message.find("not a loopback address"), std::string::npos);
    auto allowed = load({"--config", path_, "--prometheus-allow-remote", "true"});
    ASSERT_TRUE(allowed) << allowed.error().message;
    EXPECT_FALSE(allowed->prometheus_listen->loopback);
    write_file("prometheus-listen = [::1]:9464\n");
    auto ipv6 = load({"--config", path_});
    ASSERT_TRUE(ipv6) << ipv6.error().message;
    EXPECT_TRUE(ipv6->prometheus_listen->loopback);
    write_file("prometheus-listen = localhost:70000\n");
    EXPECT_FALSE(load({"--config", path_}));
}

TEST_F(ConfigTest, AnchorLimitTakesWholeMebibytes)
{
    struct Case {
        const char* text;
        uint64_t bytes;
    };
    for (auto c : {Case{"1M", 1u << 20}, Case{"256m", 256u << 20}, Case{"1G", 1u << 30},
                   Case{"2T", uint64_t{2} << 40}, Case{"1048576", 1u << 20}, Case{"2048K", 2u << 20}}) {
        write_file(std::string("anchor-limit = ") + c.text + "\n");
        auto config = load({"--config", path_});
        ASSERT_TRUE(config) << c.text << ": " << config.error().message;
        EXPECT_EQ(config->anchor_limit, c.bytes) << c.text;
    }
}

TEST_F(ConfigTest, BadAnchorLimitIsNamedWithItsLine)
{
    for (const char* bad : {"0", "0M", "1500K", "1000000", "-1M", "+1M", "1.5G", "256 M", "256MB", "256MiB",
                            "M", "", "lots", "99999999999999999999", "20000000T"}) {
        write_file(std::string("log-level = info\nanchor-limit = ") + bad + "\n");
        auto config = load({"--config", path_});
        ASSERT_FALSE(config) << "accepted anchor-limit '" << bad << "'";
        EXPECT_EQ(config.error().code, ErrorCode::config_error);
        EXPECT_NE(config.error().message.find(path_ + ":2: key 'anchor-limit': "), std::string::npos)
            << bad << ": " << config.error().message;
    }
    // From the command line: named as the option.
    auto config = load({"--config", "/dev/null", "--anchor-limit", "3K"});
    ASSERT_FALSE(config);
    EXPECT_NE(config.error().message.find("--anchor-limit: must be a positive whole number of MiB"),
              std::string::npos)
        << config.error().message;
}

TEST_F(ConfigTest, ValueErrorsFoundAfterParsingNameTheLineToo)
{
    write_file("group = libra\n\nlog-level = loud\n");
    auto config = load({"--config", path_});
    ASSERT_FALSE(config);
    EXPECT_NE(config.error().message.find(path_ + ":3: key 'log-level': 'loud' is not one of"), std::string::npos)
        << config.error().message;
    write_file("prometheus-listen = 10.0.0.1:9464\n");
    config = load({"--config", path_});
    ASSERT_FALSE(config);
    EXPECT_NE(config.error().message.find(path_ + ":1: key 'prometheus-listen': "), std::string::npos)
        << config.error().message;
}

TEST_F(ConfigTest, HelpAndVersionAreRecognised)
{
    const char* help[] = {"librad", "--help"};
    auto parsed = parse_command_line(2, help);
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->action, StartupAction::show_help);
    for (const char* key : {"--log-level", "--socket", "--group", "--device", "--bpf-object",
                            "--prometheus-listen", "--anchor-limit", "--config", "Exit status"})
        EXPECT_NE(parsed->help_text.find(key), std::string::npos) << key;
    const char* version[] = {"librad", "-V"};
    auto parsed_version = parse_command_line(2, version);
    ASSERT_TRUE(parsed_version);
    EXPECT_EQ(parsed_version->action, StartupAction::show_version);
}

// The shipped librad.conf must parse, with every key documented in it.
TEST(ShippedConfig, ParsesAndMentionsEveryKey)
{
    std::string path = LIBRA_SHIPPED_CONFIG;
    std::ifstream in(path);
    ASSERT_TRUE(in) << path;
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (const auto& option : config_file_options().options())
        EXPECT_NE(text.find("# " + option->long_name() + " ="), std::string::npos) << option->long_name();
    const char* argv[] = {"librad", "--config", LIBRA_SHIPPED_CONFIG};
    auto command_line = parse_command_line(3, argv);
    ASSERT_TRUE(command_line);
    auto config = load_config(command_line.value());
    EXPECT_TRUE(config) << config.error().message;
}

}  // namespace
}  // namespace libra
