#include "libractl/cli.hpp"

#include <ctime>
#include <set>
#include <sstream>

#include "common/version.hpp"
#include "libractl/exit_codes.hpp"

namespace po = boost::program_options;

namespace libra {

namespace {

po::options_description global_options()
{
    po::options_description options("Global options");
    options.add_options()
        ("help,h", "print this help and exit")
        ("version,V", "print libractl's version and exit")
        ("bash-completion", "print a bash completion script for libractl and exit")
        ("socket", po::value<std::string>()->value_name("PATH")->default_value(kDefaultSocketPath),
         "librad's control socket");
    return options;
}

po::options_description command_options(const Command& command)
{
    po::options_description options("Options");
    if (command.add_options)
        command.add_options(options);
    options.add_options()("json", "print librad's reply as one JSON object");
    if (command.can_watch)
        options.add_options()
            ("watch", "refresh until interrupted")
            ("interval", po::value<double>()->value_name("SECONDS")->default_value(1.0, "1"),
             "seconds between refreshes with --watch (at least 0.1)");
    options.add_options()("help,h", "print this help and exit");
    return options;
}

const char kExitStatusHelp[] =
    "Exit status: 0 success, 1 librad or the module refused or failed the request,\n"
    "2 usage error, 3 librad unreachable (not running, socket not accessible) or\n"
    "protocol error, 4 permission denied.\n";

int exit_code_for(const Error& error)
{
    switch (error.code) {
    case ErrorCode::permission_denied: return libractl_exit::permission_denied;
    case ErrorCode::daemon_unreachable:
    case ErrorCode::protocol_error: return libractl_exit::unreachable;
    default: return libractl_exit::failed;
    }
}

int usage_error(CliEnvironment& env, const std::string& message, const std::string& help_hint)
{
    env.err << "libractl: " << message << "\nTry '" << help_hint << "'.\n";
    return libractl_exit::usage;
}

// Global options end at the first word that is not an option (the command).
int find_command_index(int argc, const char* const* argv)
{
    int i = 1;
    while (i < argc && argv[i][0] == '-') {
        std::string arg = argv[i];
        i += (arg == "--socket") ? 2 : 1;
    }
    return i;
}

int run_command(const Command& command, int argc, const char* const* argv, const std::string& socket,
                CliEnvironment& env)
{
    std::string hint = "libractl " + std::string(command.name) + " --help";
    po::variables_map vm;
    try {
        // parsed_options points into the description: keep it alive until store().
        const auto options = command_options(command);
        auto parsed = po::command_line_parser(argc, argv).options(options).run();
        auto stray = po::collect_unrecognized(parsed.options, po::include_positional);
        if (!stray.empty())
            return usage_error(env, std::string(command.name) + ": unexpected argument '" + stray.front() + "'", hint);
        po::store(parsed, vm);
        po::notify(vm);
    } catch (const po::error& e) {
        return usage_error(env, std::string(command.name) + ": " + e.what(), hint);
    }
    if (vm.count("help")) {
        env.out << command_help(command);
        return libractl_exit::ok;
    }
    auto request = command.build_request(vm);
    if (!request)
        return usage_error(env, std::string(command.name) + ": " + request.error().message, hint);
    bool json = vm.count("json") > 0;
    bool watch = command.can_watch && vm.count("watch") > 0;
    double interval = command.can_watch ? vm["interval"].as<double>() : 1.0;
    if (watch && !(interval >= 0.1 && interval <= 86400))
        return usage_error(env, "--interval must be between 0.1 and 86400 seconds", hint);

    Transport transport = env.connect(socket);
    for (;;) {
        auto reply = transport(request.value());
        if (!reply) {
            env.err << "libractl: " << command.name << ": " << reply.error().message << "\n";
            return exit_code_for(reply.error());
        }
        if (json) {
            // --watch --json: one object per line, easy to consume as a stream.
            env.out << reply.value().dump(watch ? -1 : 2) << "\n";
        } else {
            if (watch) {
                std::time_t now = std::time(nullptr);
                char stamp[32];
                std::strftime(stamp, sizeof(stamp), "%F %T", std::localtime(&now));
                env.out << "--- " << stamp << "\n";
            }
            command.render(reply.value(), env.out);
        }
        env.out.flush();
        if (!watch || !env.wait(interval))
            return libractl_exit::ok;
    }
}

}  // namespace

std::string general_help()
{
    std::ostringstream help;
    help << "Usage: libractl [--socket PATH] COMMAND [OPTIONS]\n"
            "Controls Libra through librad: opt processes in to selective copying, show\n"
            "status and statistics.\n\nCommands:\n";
    for (const auto& command : command_table())
        help << "  " << command.name << std::string(10 - std::min<size_t>(9, command.name.size()), ' ')
             << command.summary << "\n";
    help << "\n" << global_options() << "\n"
         << "'libractl COMMAND --help' or 'libractl help COMMAND' describes a command.\n"
         << kExitStatusHelp << "See libractl(8).\n";
    return help.str();
}

std::string command_help(const Command& command)
{
    std::ostringstream help;
    help << "Usage: libractl " << command.name << (command.synopsis.empty() ? "" : " ") << command.synopsis
         << "\n" << command.summary << "\n\n" << command.description << "\n\n"
         << command_options(command) << "\n" << kExitStatusHelp;
    return help.str();
}

namespace {

// "--name" of every option of @options, space-separated; those that take a
// value are added to *with_value.
std::string long_options(const po::options_description& options, std::set<std::string>& with_value)
{
    std::string words;
    for (const auto& option : options.options()) {
        auto name = "--" + option->long_name();
        words += (words.empty() ? "" : " ") + name;
        if (option->semantic()->max_tokens() > 0)
            with_value.insert(name);
    }
    return words;
}

}  // namespace

std::string bash_completion()
{
    std::string commands, cases, valued_words;
    std::set<std::string> valued;
    for (const auto& command : command_table()) {
        commands += (commands.empty() ? "" : " ") + std::string(command.name);
        cases += "\t" + std::string(command.name) + ") words=\"" +
                 long_options(command_options(command), valued) + "\" ;;\n";
    }
    std::string globals = long_options(global_options(), valued);
    valued.erase("--socket");  // completes file names
    for (const auto& word : valued)
        valued_words += (valued_words.empty() ? "" : "|") + word;
    std::ostringstream script;
    script << "# bash completion for libractl " << kProjectVersion
           << ", generated from its command table by 'libractl --bash-completion'.\n"
              "_libractl() {\n"
              "\tlocal cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]} cmd= i words\n"
              "\tfor ((i = 1; i < COMP_CWORD; i++)); do\n"
              "\t\tcase ${COMP_WORDS[i]} in\n"
              "\t\t--socket) ((i++)) ;;\n"
              "\t\t-*) ;;\n"
              "\t\t*) cmd=${COMP_WORDS[i]}; break ;;\n"
              "\t\tesac\n"
              "\tdone\n"
              "\tcase $prev in\n"
              "\t--socket) COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n"
           << "\t" << valued_words << ") COMPREPLY=(); return ;;\n"
           << "\tesac\n"
              "\tcase $cmd in\n"
              "\t'') words=\""
           << globals << " help " << commands << "\" ;;\n"
           << "\thelp) words=\"" << commands << "\" ;;\n"
           << cases << "\t*) words= ;;\n"
           << "\tesac\n"
              "\tCOMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n"
              "}\n"
              "complete -F _libractl libractl\n";
    return script.str();
}

int run_cli(int argc, const char* const* argv, CliEnvironment& env)
{
    int command_index = find_command_index(argc, argv);
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(std::min(command_index, argc), argv).options(global_options()).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        return usage_error(env, e.what(), "libractl --help");
    }
    if (vm.count("help")) {
        env.out << general_help();
        return libractl_exit::ok;
    }
    if (vm.count("version")) {
        env.out << "libractl " << kProjectVersion << " (protocol 1)\n";
        return libractl_exit::ok;
    }
    if (vm.count("bash-completion")) {
        env.out << bash_completion();
        return libractl_exit::ok;
    }
    if (command_index >= argc)
        return usage_error(env, "no command given", "libractl --help");
    std::string name = argv[command_index];
    if (name == "help") {
        if (command_index + 1 >= argc) {
            env.out << general_help();
            return libractl_exit::ok;
        }
        const Command* command = find_command(argv[command_index + 1]);
        if (!command)
            return usage_error(env, "unknown command '" + std::string(argv[command_index + 1]) + "'",
                               "libractl --help");
        env.out << command_help(*command);
        return libractl_exit::ok;
    }
    const Command* command = find_command(name);
    if (!command)
        return usage_error(env, "unknown command '" + name + "'", "libractl --help");
    // The command's own argv: argv[command_index] plays argv[0].
    return run_command(*command, argc - command_index, argv + command_index,
                       vm["socket"].as<std::string>(), env);
}

}  // namespace libra
