/* The Open Babel shim: the only C++ file of sdegen (style rule 17). Everything Open Babel
 * needs passes through the C functions of obabel.h. Each one
 *  - takes one process-wide mutex (Open Babel keeps global state: its error log, plugins);
 *  - points Open Babel's error log, std::cout, std::cerr and std::clog at an in-memory sink
 *    for the duration of the call, so nothing reaches the terminal;
 *  - catches every C++ exception at the boundary and turns it into an sdg_status. */
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <mutex>
#include <omp.h>
#include <sstream>
#include <string>

#include <openbabel/atom.h>
#include <openbabel/bond.h>
#include <openbabel/builder.h>
#include <openbabel/forcefield.h>
#include <openbabel/kekulize.h>
#include <openbabel/mcdlutil.h>
#include <openbabel/mol.h>
#include <openbabel/obconversion.h>
#include <openbabel/oberror.h>
#include <openbabel/plugin.h>
#include <openbabel/obiter.h>

extern "C" {
#include "molecule/obabel.h"
}

namespace {

std::mutex ob_lock;

std::ostringstream &sink() {
    static std::ostringstream s;
    return s;
}

/* For the duration of one call: locked, Open Babel's log and the standard streams captured. */
class Session {
  public:
    Session() : guard_(ob_lock) {
        static std::once_flag once;
        std::call_once(once, [] {
            OpenBabel::obErrorLog.SetOutputStream(&sink());
            OpenBabel::obErrorLog.SetOutputLevel(OpenBabel::obError);
        });
        sink().str("");
        sink().clear();
        OpenBabel::obErrorLog.ClearLog();
        old_out_ = std::cout.rdbuf(sink().rdbuf());
        old_err_ = std::cerr.rdbuf(sink().rdbuf());
        old_log_ = std::clog.rdbuf(sink().rdbuf());
    }
    ~Session() {
        std::cout.rdbuf(old_out_);
        std::cerr.rdbuf(old_err_);
        std::clog.rdbuf(old_log_);
        OpenBabel::obErrorLog.ClearLog();
        sink().str("");
    }
    Session(const Session &) = delete;
    Session &operator=(const Session &) = delete;

    /* Open Babel's last error (or warning), condensed to one line; "" if none. */
    static std::string reason() {
        auto msgs = OpenBabel::obErrorLog.GetMessagesOfLevel(OpenBabel::obError);
        if (msgs.empty()) msgs = OpenBabel::obErrorLog.GetMessagesOfLevel(OpenBabel::obWarning);
        std::string text = msgs.empty() ? sink().str() : msgs.back(), out;
        std::istringstream in(text);
        std::string line;
        while (std::getline(in, line)) {
            size_t a = line.find_first_not_of(" \t\r");
            if (a == std::string::npos) continue;
            line = line.substr(a);
            if (line.rfind("====", 0) == 0 || line.rfind("*** Open Babel", 0) == 0) continue;
            if (!out.empty()) out += "; ";
            out += line;
        }
        if (out.size() > 300) out = out.substr(0, 300) + "...";
        return out;
    }

  private:
    std::lock_guard<std::mutex> guard_;
    std::streambuf *old_out_, *old_err_, *old_log_;
};

sdg_status fail_exception(const char *what, const char *where) {
    return SDG_ERROR(SDG_ERR_DEPENDENCY, "Open Babel (%s): C++ exception: %s", where, what);
}

/* OBMol -> sdg_mol (atoms in Open Babel's order). */
sdg_status from_obmol(OpenBabel::OBMol &mol, bool with_coords, sdg_mol **out) {
    sdg_status st = SDG_OK;
    sdg_mol *m = NULL;
    SDG_TRY(sdg_mol_new(&m));
    FOR_ATOMS_OF_MOL(a, mol) {
        int z = (int)a->GetAtomicNum();
        if (z < 1) SDG_FAIL(SDG_ERR_FORMAT, "atom %u: dummy atom '*' is not supported", a->GetIdx());
        int64_t idx;
        SDG_TRY(sdg_mol_add_atom(m, z, a->GetFormalCharge(), &idx));
        m->atoms[idx].hcount = (int32_t)a->GetImplicitHCount();
    }
    FOR_BONDS_OF_MOL(b, mol) {
        int order = (int)b->GetBondOrder();
        int64_t i = (int64_t)b->GetBeginAtomIdx() - 1, j = (int64_t)b->GetEndAtomIdx() - 1;
        if (order < 1 || order > 3)
            SDG_FAIL(SDG_ERR_FORMAT, "bond %lld-%lld has order %d (only 1..3 are supported)",
                     (long long)i, (long long)j, order);
        SDG_TRY(sdg_mol_add_bond(m, i, j, order));
        m->bonds[m->n_bonds - 1].aromatic = b->IsAromatic();
    }
    if (with_coords) {
        size_t n = (size_t)m->n_atoms;
        m->coords = (double *)calloc(n ? 3 * n : 3, sizeof(double));
        if (!m->coords) SDG_FAIL(SDG_ERR_NOMEM, "out of memory");
        FOR_ATOMS_OF_MOL(a, mol) {
            size_t k = a->GetIdx() - 1;
            m->coords[3 * k] = a->GetX();
            m->coords[3 * k + 1] = a->GetY();
            m->coords[3 * k + 2] = a->GetZ();
        }
        m->dim = mol.GetDimension() == 2 ? 2 : 3;
    }
    if (*mol.GetTitle()) SDG_TRY(sdg_mol_set_name(m, mol.GetTitle()));
    *out = m;
    m = NULL;
cleanup:
    sdg_mol_free(m);
    return st;
}

/* sdg_mol -> OBMol; implicit H counts are resolved with the default-valence model. */
sdg_status to_obmol(const sdg_mol *m, OpenBabel::OBMol &mol) {
    mol.Clear();
    mol.BeginModify();   /* EndModify sets up the coordinate array (OBMol copies need it) */
    for (int64_t i = 0; i < m->n_atoms; i++) {
        int h;
        sdg_status st = sdg_mol_hcount(m, i, &h);
        if (st != SDG_OK) return st;
        OpenBabel::OBAtom *a = mol.NewAtom();
        a->SetAtomicNum((unsigned)m->atoms[i].z);
        a->SetFormalCharge(m->atoms[i].charge);
        a->SetImplicitHCount((unsigned)h);
        if (m->coords && m->dim > 0)
            a->SetVector(m->coords[3 * i], m->coords[3 * i + 1], m->coords[3 * i + 2]);
    }
    for (int64_t k = 0; k < m->n_bonds; k++) {
        const sdg_bond *b = &m->bonds[k];
        if (!mol.AddBond(b->i + 1, b->j + 1, b->order))
            return SDG_ERROR(SDG_ERR_INVALID, "bond %d-%d rejected by Open Babel", b->i, b->j);
    }
    mol.EndModify();
    mol.SetDimension((unsigned short)(m->coords ? m->dim : 0));
    mol.SetChiralityPerceived();   /* no stereo: spares the writers a stereo perception (30 %) */
    if (m->name) mol.SetTitle(m->name);
    return SDG_OK;
}

/* RDKit's sanitisation clean-up for pentavalent nitrogen, so that molecules read here carry
 * the charges GDSS's (RDKit's) molecules carry: nitro N(=O)=O -> [N+](=O)[O-] and azide
 * N=N#N -> N=[N+]=[N-] (the first such neighbour in bond order changes). */
void rdkit_cleanup(OpenBabel::OBMol &mol) {
    FOR_ATOMS_OF_MOL(a, mol) {
        if (a->GetAtomicNum() != 7 || a->GetFormalCharge() != 0 || a->GetImplicitHCount() != 0 ||
            a->GetExplicitValence() != 5)
            continue;
        FOR_BONDS_OF_ATOM(b, &*a) {
            OpenBabel::OBAtom *nb = b->GetNbrAtom(&*a);
            unsigned want = nb->GetAtomicNum() == 8 ? 2 : nb->GetAtomicNum() == 7 ? 3 : 0;
            if (want && b->GetBondOrder() == want && nb->GetFormalCharge() == 0 &&
                nb->GetExplicitDegree() == 1) {
                b->SetBondOrder(want - 1);
                nb->SetFormalCharge(-1);
                a->SetFormalCharge(1);
                break;
            }
        }
    }
}

sdg_status read_smiles(OpenBabel::OBConversion &conv, const char *smiles, OpenBabel::OBMol &mol) {
    if (!smiles) return SDG_ERROR(SDG_ERR_INVALID, "NULL SMILES");
    const char *s = smiles;
    while (*s == ' ' || *s == '\t') s++;
    if (!*s || *s == '\n' || *s == '\r') return SDG_ERROR(SDG_ERR_FORMAT, "empty SMILES");
    /* Open Babel accepts an unclosed '(' or '[' (RDKit and Daylight do not) */
    int depth = 0;
    bool bracket = false;
    for (const char *c = s; *c && *c != ' ' && *c != '\t' && *c != '\n' && *c != '\r'; c++) {
        if (bracket) {
            if (*c == ']') bracket = false;
            else if (*c == '[') return SDG_ERROR(SDG_ERR_FORMAT, "SMILES '%.200s': '[' inside brackets", smiles);
        } else if (*c == '[') bracket = true;
        else if (*c == ']') return SDG_ERROR(SDG_ERR_FORMAT, "SMILES '%.200s': ']' without '['", smiles);
        else if (*c == '(') depth++;
        else if (*c == ')' && --depth < 0)
            return SDG_ERROR(SDG_ERR_FORMAT, "SMILES '%.200s': ')' without '('", smiles);
    }
    if (bracket || depth)
        return SDG_ERROR(SDG_ERR_FORMAT, "SMILES '%.200s': unclosed '%c'", smiles, bracket ? '[' : '(');
    mol.Clear();
    bool ok = conv.ReadString(&mol, std::string(s));
    if (!ok || mol.NumAtoms() == 0) {
        std::string r = Session::reason();
        return SDG_ERROR(SDG_ERR_FORMAT, "SMILES '%.200s' rejected by Open Babel%s%s", smiles,
                         r.empty() ? "" : ": ", r.c_str());
    }
    mol.DeleteHydrogens();   /* explicit [H] atoms -> neighbour's implicit count */
    rdkit_cleanup(mol);
    return SDG_OK;
}

sdg_status write_smiles(OpenBabel::OBConversion &conv, OpenBabel::OBMol &mol, char **out) {
    mol.SetChiralityPerceived();   /* stereo is never written: skip its perception */
    std::string s = conv.WriteString(&mol, true);
    size_t end = s.find_first_of("\t\r\n ");
    if (end != std::string::npos) s.resize(end);
    if (s.empty() && mol.NumAtoms() > 0) {
        std::string r = Session::reason();
        return SDG_ERROR(SDG_ERR_DEPENDENCY, "Open Babel wrote no SMILES%s%s", r.empty() ? "" : ": ",
                         r.c_str());
    }
    char *c = (char *)malloc(s.size() + 1);
    if (!c) return SDG_ERROR(SDG_ERR_NOMEM, "out of memory");
    memcpy(c, s.c_str(), s.size() + 1);
    *out = c;
    return SDG_OK;
}

/* Format objects, made once (under the lock) and reused. */
struct Convs {
    OpenBabel::OBConversion in, smi, can;
    bool ok = false;
    Convs() {
        ok = in.SetInFormat("smi") && smi.SetOutFormat("smi") && can.SetOutFormat("can");
        for (OpenBabel::OBConversion *c : {&smi, &can}) {
            c->AddOption("n", OpenBabel::OBConversion::OUTOPTIONS);   /* no title */
            c->AddOption("i", OpenBabel::OBConversion::OUTOPTIONS);   /* no stereo/isotopes */
        }
    }
};
Convs *convs() {
    static Convs c;
    if (!c.ok) {
        SDG_ERROR(SDG_ERR_DEPENDENCY, "Open Babel's SMILES format plugin was not found "
                                      "(BABEL_LIBDIR?)");
        return NULL;
    }
    return &c;
}

} // namespace

extern "C" sdg_status sdg_ob_read_smiles(const char *smiles, sdg_mol **out) {
    try {
        Session s;
        Convs *c = convs();
        if (!c) return SDG_ERR_DEPENDENCY;
        OpenBabel::OBMol mol;
        sdg_status st = read_smiles(c->in, smiles, mol);
        if (st != SDG_OK) return st;
        return from_obmol(mol, false, out);
    } catch (const std::exception &e) {
        return fail_exception(e.what(), "read SMILES");
    } catch (...) {
        return fail_exception("unknown", "read SMILES");
    }
}

extern "C" sdg_status sdg_ob_write_smiles(const sdg_mol *m, bool canonical, char **out) {
    try {
        Session s;
        Convs *c = convs();
        if (!c) return SDG_ERR_DEPENDENCY;
        OpenBabel::OBMol mol;
        sdg_status st = to_obmol(m, mol);
        if (st != SDG_OK) return st;
        mol.SetDimension(0);   /* no stereo from coordinates */
        return write_smiles(canonical ? c->can : c->smi, mol, out);
    } catch (const std::exception &e) {
        return fail_exception(e.what(), "write SMILES");
    } catch (...) {
        return fail_exception("unknown", "write SMILES");
    }
}

extern "C" sdg_status sdg_ob_canonicalise(const char *smiles, sdg_mol **out, char **canonical) {
    char *can = NULL;
    try {
        Session s;
        Convs *c = convs();
        if (!c) return SDG_ERR_DEPENDENCY;
        OpenBabel::OBMol mol;
        sdg_status st = read_smiles(c->in, smiles, mol);
        if (st == SDG_OK) st = write_smiles(c->can, mol, &can);
        if (st == SDG_OK) st = read_smiles(c->in, can, mol);
        if (st == SDG_OK) st = from_obmol(mol, false, out);
        if (st == SDG_OK) {
            *canonical = can;
            can = NULL;
        }
        free(can);
        return st;
    } catch (const std::exception &e) {
        free(can);
        return fail_exception(e.what(), "canonicalise");
    } catch (...) {
        free(can);
        return fail_exception("unknown", "canonicalise");
    }
}

extern "C" sdg_status sdg_ob_coords_2d(sdg_mol *m) {
    try {
        Session s;
        OpenBabel::OBMol mol;
        sdg_status st = to_obmol(m, mol);
        if (st != SDG_OK) return st;
        OpenBabel::generateDiagram(&mol);
        size_t n = (size_t)m->n_atoms;
        double *x = (double *)calloc(n ? 3 * n : 3, sizeof(double));
        if (!x) return SDG_ERROR(SDG_ERR_NOMEM, "out of memory");
        FOR_ATOMS_OF_MOL(a, mol) {
            size_t k = a->GetIdx() - 1;
            x[3 * k] = a->GetX();
            x[3 * k + 1] = a->GetY();
        }
        for (size_t k = 0; k < 3 * n; k++)
            if (!std::isfinite(x[k])) {
                free(x);
                return SDG_ERROR(SDG_ERR_DEPENDENCY, "Open Babel's 2-D layout gave non-finite coordinates");
            }
        free(m->coords);
        m->coords = x;
        m->dim = 2;
        return SDG_OK;
    } catch (const std::exception &e) {
        return fail_exception(e.what(), "2-D coordinates");
    } catch (...) {
        return fail_exception("unknown", "2-D coordinates");
    }
}

namespace {
OpenBabel::OBForceField *setup_ff(const char *name, OpenBabel::OBMol &mol, std::string &why) {
    /* not OBForceField::FindForceField: it is inline, and under -fvisibility-inlines-hidden its
     * static plugin map would be a private, empty copy in libsdegen */
    OpenBabel::OBForceField *proto =
        static_cast<OpenBabel::OBForceField *>(OpenBabel::OBPlugin::GetPlugin("forcefields", name));
    if (!proto) {
        why += std::string(name) + " not found; ";
        return NULL;
    }
    OpenBabel::OBForceField *ff = proto->MakeNewInstance();
    if (!ff) {
        why += std::string(name) + " could not be instantiated; ";
        return NULL;
    }
    ff->SetLogFile(&sink());
    ff->SetLogLevel(OBFF_LOGLVL_NONE);
    if (!ff->Setup(mol)) {
        why += std::string(name) + " could not type the molecule; ";
        delete ff;
        return NULL;
    }
    return ff;
}
/* Open Babel's force fields open an OpenMP parallel region per energy term: on molecules of a
 * few atoms the team start-up costs 100x the work (5 s instead of 20 ms for ethanol on a
 * busy machine). One thread while it runs; the caller's setting is restored. */
class OneThread {
  public:
    OneThread() : saved_(omp_get_max_threads()) { omp_set_num_threads(1); }
    ~OneThread() { omp_set_num_threads(saved_); }
    OneThread(const OneThread &) = delete;
    OneThread &operator=(const OneThread &) = delete;

  private:
    int saved_;
};
} // namespace

extern "C" sdg_status sdg_ob_embed_3d(const sdg_mol *m, const sdg_embed_params *p, sdg_rng *rng,
                                      sdg_mol **out) {
    OpenBabel::OBForceField *ff = NULL;
    try {
        Session s;
        OneThread one;
        OpenBabel::OBMol mol;
        sdg_status st = to_obmol(m, mol);
        if (st != SDG_OK) return st;
        mol.SetDimension(0);
        mol.AddHydrogens();
        OpenBabel::OBBuilder builder;
        if (!builder.Build(mol, false)) {
            std::string r = Session::reason();
            return SDG_ERROR(SDG_ERR_DEPENDENCY, "Open Babel's 3-D builder failed%s%s",
                             r.empty() ? "" : ": ", r.c_str());
        }
        mol.SetDimension(3);
        const char *name = (p->forcefield && *p->forcefield) ? p->forcefield : "MMFF94";
        std::string why;
        ff = setup_ff(name, mol, why);
        if (!ff && strcmp(name, "UFF") != 0) ff = setup_ff("UFF", mol, why);
        if (!ff) return SDG_ERROR(SDG_ERR_DEPENDENCY, "force field: %s", why.c_str());
        ff->ConjugateGradients(p->steps);
        ff->GetCoordinates(mol);
        if (p->jitter > 0 && rng) {
            FOR_ATOMS_OF_MOL(a, mol) {
                double dx = p->jitter * sdg_rng_gaussian(rng), dy = p->jitter * sdg_rng_gaussian(rng),
                       dz = p->jitter * sdg_rng_gaussian(rng);
                a->SetVector(a->GetX() + dx, a->GetY() + dy, a->GetZ() + dz);
            }
            ff->SetCoordinates(mol);
            ff->ConjugateGradients(p->steps);
            ff->GetCoordinates(mol);
        }
        delete ff;
        ff = NULL;
        FOR_ATOMS_OF_MOL(a, mol) {
            if (!std::isfinite(a->GetX()) || !std::isfinite(a->GetY()) || !std::isfinite(a->GetZ()))
                return SDG_ERROR(SDG_ERR_DEPENDENCY, "3-D embedding gave non-finite coordinates");
        }
        st = from_obmol(mol, true, out);
        if (st == SDG_OK) (*out)->dim = 3;
        return st;
    } catch (const std::exception &e) {
        delete ff;
        return fail_exception(e.what(), "3-D embedding");
    } catch (...) {
        delete ff;
        return fail_exception("unknown", "3-D embedding");
    }
}

extern "C" sdg_status sdg_ob_kekulize(sdg_mol *m) {
    try {
        Session s;
        OpenBabel::OBMol mol;
        sdg_status st = to_obmol(m, mol);
        if (st != SDG_OK) return st;
        for (int64_t k = 0; k < m->n_bonds; k++) {
            if (!m->bonds[k].aromatic) continue;
            OpenBabel::OBBond *b = mol.GetBond((int)k);
            b->SetBondOrder(1);
            b->SetAromatic();
            b->GetBeginAtom()->SetAromatic();
            b->GetEndAtom()->SetAromatic();
        }
        mol.SetAromaticPerceived();
        if (!OpenBabel::OBKekulize(&mol))
            return SDG_ERROR(SDG_ERR_FORMAT, "aromatic bonds could not be kekulised");
        for (int64_t k = 0; k < m->n_bonds; k++) {
            int order = (int)mol.GetBond((int)k)->GetBondOrder();
            if (order < 1 || order > 3)
                return SDG_ERROR(SDG_ERR_FORMAT, "kekulisation left bond %lld with order %d", (long long)k, order);
            m->bonds[k].order = order;
        }
        return SDG_OK;
    } catch (const std::exception &e) {
        return fail_exception(e.what(), "kekulise");
    } catch (...) {
        return fail_exception("unknown", "kekulise");
    }
}

/* Every record of an SDF file as Open Babel's MDL reader sees it (the round-trip check of
 * files sdegen writes): atoms in file order with Open Babel's formal charges and implicit-H
 * counts, bonds with their orders, coordinates, title. */
extern "C" sdg_status sdg_mol_list_read_sdf_obabel(const char *path, sdg_mol_list **out) {
    sdg_mol_list *l = NULL;
    sdg_status st = SDG_OK;
    if (!path || !out) return SDG_ERROR(SDG_ERR_INVALID, "sdg_mol_list_read_sdf_obabel: NULL argument");
    *out = NULL;
    try {
        Session s;
        std::ifstream in(path);
        if (!in) return SDG_ERROR(SDG_ERR_IO, "%s: cannot open for reading", path);
        OpenBabel::OBConversion conv;
        if (!conv.SetInFormat("sdf"))
            return SDG_ERROR(SDG_ERR_DEPENDENCY, "Open Babel's SDF format plugin was not found (BABEL_LIBDIR?)");
        l = (sdg_mol_list *)calloc(1, sizeof *l);
        if (!l) return SDG_ERROR(SDG_ERR_NOMEM, "out of memory");
        size_t cap = 0;
        for (;;) {
            OpenBabel::OBMol mol;
            if (!conv.Read(&mol, &in)) break;
            sdg_mol *m = NULL;
            st = from_obmol(mol, true, &m);
            if (st != SDG_OK) {
                sdg_error_prefix("%s: record %zu (Open Babel)", path, l->count + 1);
                break;
            }
            if (l->count == cap) {
                size_t c = cap ? 2 * cap : 64;
                sdg_mol **v = (sdg_mol **)realloc(l->mols, c * sizeof *v);
                if (!v) {
                    sdg_mol_free(m);
                    st = SDG_ERROR(SDG_ERR_NOMEM, "out of memory");
                    break;
                }
                l->mols = v;
                cap = c;
            }
            l->mols[l->count++] = m;
        }
        if (st == SDG_OK && in.bad()) st = SDG_ERROR(SDG_ERR_IO, "%s: read error after record %zu", path, l->count);
    } catch (const std::exception &e) {
        st = fail_exception(e.what(), "read SDF");
    } catch (...) {
        st = fail_exception("unknown", "read SDF");
    }
    if (st != SDG_OK) {
        sdg_mol_list_free(l);
        return st;
    }
    *out = l;
    return SDG_OK;
}
